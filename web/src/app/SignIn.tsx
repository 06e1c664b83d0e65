import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { FieldError } from '../components/FieldError';
import { ApiError, api, unwrap, whenUnauthorized } from '../lib/api';
import { AuthContext, canWith, type Me } from '../lib/auth';
import { useFieldErrors } from '../lib/field-errors';
import { defineQuery, useApiQuery } from '../lib/query';

declare module '../lib/query' {
  interface QueryShapes {
    'me/current': Me;
  }
}

/** Who the session is, per sign-in (a new sign-in asks again). */
const whoAmI = defineQuery(
  'me/current',
  async (_signIn: number) => unwrap(await api.GET('/v1/auth/me')) as Me,
);

/** The code of a printed sign-in link (`/#sign-in=CODE`), removed from the address bar at once. */
function takeSignInCode(): string | undefined {
  const match = /^#sign-in=([\w-]+)$/.exec(window.location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  return match[1];
}

type SignInBody = { code: string } | { api_key: string };
/** Opens a console session; the server answers with its cookie, which the page never sees. */
const openSession = async (body: SignInBody) => unwrap(await api.POST('/v1/auth/sign-in', { body }));

/**
 * Shows its children once the browser holds a console session the server accepts: from an earlier
 * sign-in in any tab (its cookie), from a one-time sign-in link, or from an API key typed into the
 * form it shows otherwise (traded for a session; the key itself is not kept).
 */
export function RequireSignIn({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  // Counts sign-ins: each asks the server again who the session is.
  const [signIns, setSignIns] = useState(0);
  const [code, setCode] = useState(takeSignInCode);
  const [signInError, setSignInError] = useState<unknown>();

  const signIn = (body: SignInBody) =>
    openSession(body).then(() => {
      setSignInError(undefined);
      setSignIns((n) => n + 1);
    }, setSignInError);

  useEffect(() => {
    if (!code) return;
    // Spent either way: a later sign-out shows the form, not "Signing in…" for this code.
    void openSession({ code })
      .then(() => setSignIns((n) => n + 1), setSignInError)
      .finally(() => setCode(undefined));
  }, [code]);

  const me = useApiQuery({ ...whoAmI(signIns), enabled: !code, retry: false });

  /** Forgets what this tab knew (the server refused the session, or after signing out). */
  const forget = () => {
    queryClient.clear();
    setSignIns((n) => n + 1);
  };
  /** Ends the session on the server, which clears its cookie in every tab. */
  const signOut = () => {
    void api
      .POST('/v1/auth/sign-out')
      // Signing out here goes on whatever the server answers (the tab forgets the session below); a
      // session the server did not end expires on its own, and its cookie is HttpOnly either way.
      .catch((err: unknown) => console.warn('sign-out: the server did not end the session', err))
      .finally(forget);
  };
  // A session ended elsewhere (another tab, an admin) signs this tab out at its next request.
  useEffect(() => (me.data ? whenUnauthorized(forget) : undefined));

  if (me.data) {
    return (
      <AuthContext.Provider value={{ me: me.data, can: canWith(me.data), signOut }}>
        {children}
      </AuthContext.Provider>
    );
  }
  if (code || me.isPending) return <p className="center muted">Signing in…</p>;
  // Not signed in yet is no error to show; a refused link or key is.
  const refused = me.error instanceof ApiError && me.error.status === 401 ? undefined : me.error;
  return <SignInForm error={signInError ?? refused} onKey={(api_key) => void signIn({ api_key })} />;
}

function SignInForm({ error, onKey }: { error: unknown; onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  const form = useFieldErrors();
  return (
    <main className="sign-in">
      <h1>Agentry</h1>
      <p>
        Open the one-time link <code>agentry serve</code> printed (<code>agentry console</code> prints a new
        one), or paste an API key (<code>agk_…</code>). Signing in opens a session for this browser; the key
        itself is not kept.
      </p>
      <form
        aria-label="Sign in"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const problems = new Map(value.trim() ? [] : [['api_key', 'Paste an API key (agk_…).']]);
          if (form.check(problems)) onKey(value.trim());
        }}
      >
        <label htmlFor={form.input('api_key').id}>API key</label>
        <input {...form.bind('api_key', setValue)} type="password" autoComplete="off" value={value} />
        <FieldError form={form} k="api_key" />
        <button type="submit">Sign in</button>
      </form>
      {error instanceof ApiError && error.status === 401 && !error.message.includes('sign-in link') ? (
        <p role="alert" className="error">
          The server refused this key: {error.message} (request {error.requestId}).
        </p>
      ) : error ? (
        <ErrorNote error={error} />
      ) : null}
    </main>
  );
}
