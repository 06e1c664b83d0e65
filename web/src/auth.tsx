import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { ApiError, api, apiKey, unwrap, whenUnauthorized } from './api';
import { ErrorNote } from './components/ErrorNote';

type Scope = 'read' | 'write' | 'admin';
const rank: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export interface Me {
  tenant_id: string;
  tenant_name: string;
  subject: string;
  scopes: Scope[];
  via: string;
}

interface Auth {
  me: Me;
  /** Whether the key may do what needs `scope` (scopes nest: admin ⊃ write ⊃ read). */
  can: (scope: Scope) => boolean;
  signOut: () => void;
}

const AuthContext = createContext<Auth | undefined>(undefined);

/** The signed-in caller; only inside `<RequireSignIn>`. */
export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside <RequireSignIn>');
  return auth;
}

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
  const [code] = useState(takeSignInCode);
  const [linkError, setLinkError] = useState<unknown>();

  useEffect(() => {
    if (!code) return;
    api
      .POST('/v1/auth/sign-in', { body: { code } })
      .then(unwrap)
      .then(({ api_key }) => {
        apiKey.set(api_key);
        setKey(api_key);
      }, setLinkError);
  }, [code]);

  const me = useQuery({
    queryKey: ['me', key],
    enabled: Boolean(key),
    retry: false,
    queryFn: async () => unwrap(await api.GET('/v1/auth/me')) as Me,
  });

  const signOut = () => {
    apiKey.clear();
    setKey(null);
    queryClient.clear();
  };
  // A key revoked while signed in signs the tab out; a key refused at sign-in stays in the form's error.
  useEffect(() => (me.data ? whenUnauthorized(signOut) : undefined));
  useEffect(() => {
    if (me.error) apiKey.clear();
  }, [me.error]);

  if (me.data) {
    const can = (scope: Scope) => me.data.scopes.some((s) => rank[s] >= rank[scope]);
    return <AuthContext.Provider value={{ me: me.data, can, signOut }}>{children}</AuthContext.Provider>;
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
