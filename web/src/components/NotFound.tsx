import type { ReactNode } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { ApiError } from '../lib/api';
import { ErrorNote } from './ErrorNote';

interface Back {
  /** Where the way back leads, and what it is called (`/runs`, "Runs"). */
  to: string;
  label: string;
}

/** A page or object that is not there: what was asked for, and ways back. */
export function NotFound({ what = 'page', back }: { what?: string; back?: Back }) {
  const { pathname } = useLocation();
  return (
    <section aria-label="Not found">
      <h1>No such {what}</h1>
      <p className="muted">
        Nothing is at <code>{pathname}</code>: the link is wrong, or what it named was deleted or belongs to
        someone else.
      </p>
      <p>
        {back ? (
          <>
            <Link to={back.to}>← {back.label}</Link> ·{' '}
          </>
        ) : null}
        <Link to="/">Overview</Link>
      </p>
    </section>
  );
}

/** A page's load that failed: a 404 as a not-found page with its way back, anything else as the error. */
export function LoadError({ error, what, back }: { error: unknown; what: string; back: Back }) {
  if (error instanceof ApiError && (error.status === 404 || error.code === 'not_found'))
    return <NotFound what={what} back={back} />;
  return (
    <>
      <p>
        <Link to={back.to}>← {back.label}</Link>
      </p>
      <ErrorNote error={error} />
    </>
  );
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An `:id` route's page, drawn only when the id is one: `/tasks/board` is no task, and says so. */
export function WithId({ children, what, back }: { children: ReactNode; what: string; back: Back }) {
  const { id = '' } = useParams();
  return uuid.test(id) ? children : <NotFound what={what} back={back} />;
}
