import { Link } from 'react-router';
import { ApiError } from '../lib/api';

/** What the server names as still using an object it refused to delete (409 `details.used_by`). */
interface User {
  kind: 'team' | 'agent' | 'service';
  id: string;
  name: string;
  how?: string;
}

/** Where the console shows a user: a team, an agent, or an ingested app's runs. */
const hrefOf = (u: User): string =>
  u.kind === 'team'
    ? `/teams?team=${u.id}`
    : u.kind === 'service'
      ? `/runs?service=${encodeURIComponent(u.id)}`
      : `/agents/${u.id}`;

const usersOf = (e: ApiError): User[] => {
  const d = e.details as { used_by?: User[] } | undefined;
  return e.status === 409 && Array.isArray(d?.used_by) ? d.used_by : [];
};

/** An error in the page, with the request id an operator can find in the server's log. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof Error ? error : new Error(String(error));
  const users = e instanceof ApiError ? usersOf(e) : [];
  return (
    <div role="alert" className="error">
      <strong>{e instanceof ApiError ? `${e.status} ${e.code}` : 'Error'}:</strong> {e.message}
      {e instanceof ApiError && e.requestId ? <span className="muted"> (request {e.requestId})</span> : null}
      {users.length > 0 ? (
        <ul aria-label="Still used by">
          {users.map((u) => (
            <li key={`${u.kind}:${u.id}`}>
              {u.kind} <Link to={hrefOf(u)}>{u.name}</Link>
              {u.how ? ` (${u.how})` : ''}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
