import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { ApiError, api, apiKey, unwrap, whenUnauthorized } from '../lib/api';
import { AuthContext, canWith, type Me } from '../lib/auth';
import { defineQuery, useApiQuery } from '../lib/query';

declare module '../lib/query' {
  interface QueryShapes {
    'me/current': Me;
  }
}

/** Who the credentials are, per credential (a new sign-in asks again). */
const whoAmI = defineQuery(
  'me/current',
  async (_key: string | null) => unwrap(await api.GET('/v1/auth/me')) as Me,
);

/** The code of a printed sign-in link (`/#sign-in=CODE`), removed from the address bar at once. */
function takeSignInCode(): string | undefined {
  const match = /^#sign-in=([\w-]+)$/.exec(window.location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  return match[1];
}

/**
 * Shows its children once a key is known and accepted by the server: from sessionStorage, from a
 * one-time sign-in link, or typed into the form it shows otherwise.
 */
export function RequireSignIn({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState(apiKey.get());
  const [code, setCode] = useState(takeSignInCode);
  const [linkError, setLinkError] = useState<unknown>();

  useEffect(() => {
    if (!code) return;
    api
      .POST('/v1/auth/sign-in', { body: { code } })
      .then(unwrap)
      .then(({ token }) => {
        apiKey.set(token);
        setKey(token);
      }, setLinkError)
      // Spent either way: a later sign-out shows the form, not "Signing in…" for this code.
      .finally(() => setCode(undefined));
  }, [code]);

  const me = useApiQuery({ ...whoAmI(key), enabled: Boolean(key), retry: false });

  /** Forgets the credentials in this tab (the server refused them, or after signing out). */
  const forget = () => {
    apiKey.clear();
    setKey(null);
    queryClient.clear();
  };
  /** A console session ends on the server too; an API key stays valid (it is only forgotten here). */
  const signOut = () => {
    if (key?.startsWith('ags_')) {
      // The key goes with the request itself: it is forgotten before the request leaves.
      const headers = { authorization: `Bearer ${key}` };
      // Signing out here goes on whatever the server answers; a session it did not end expires.
      void api.POST('/v1/auth/sign-out', { headers }).catch(() => {});
    }
    forget();
  };
  // A key revoked while signed in signs the tab out; a key refused at sign-in stays in the form's error.
  useEffect(() => (me.data ? whenUnauthorized(forget) : undefined));
  useEffect(() => {
    if (me.error) apiKey.clear();
  }, [me.error]);

  if (me.data) {
    return (
      <AuthContext.Provider value={{ me: me.data, can: canWith(me.data), signOut }}>
        {children}
      </AuthContext.Provider>
    );
  }
  if (key && me.isPending) return <p className="center muted">Signing in…</p>;
  if (code && !key && !linkError) return <p className="center muted">Signing in…</p>;
  return (
    <SignInForm
      error={linkError ?? me.error}
      onKey={(k) => {
        apiKey.set(k);
        setKey(k);
      }}
    />
  );
}

function SignInForm({ error, onKey }: { error: unknown; onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main className="sign-in">
      <h1>Agentry</h1>
      <p>
        Open the one-time link <code>agentry serve</code> printed, or paste an API key (<code>agk_…</code>).
        It is kept for this tab only.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onKey(value.trim());
        }}
      >
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      {error instanceof ApiError && error.status === 401 && !error.message.includes('sign-in link') ? (
        <p role="alert" className="error">
          The server refused this key (request {error.requestId}).
        </p>
      ) : error ? (
        <ErrorNote error={error} />
      ) : null}
    </main>
  );
}
