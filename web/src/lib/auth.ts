import { createContext, useContext } from 'react';

export type Scope = 'read' | 'write' | 'admin';
const rank: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export interface Me {
  tenant_id: string;
  tenant_name: string;
  subject: string;
  scopes: Scope[];
  via: string;
  /** Set when signed in through a sign-in link (a console session). */
  session_id?: string;
}

export interface Auth {
  me: Me;
  /** Whether the key may do what needs `scope` (scopes nest: admin ⊃ write ⊃ read). */
  can: (scope: Scope) => boolean;
  signOut: () => void;
}

/** Set by the shell's sign-in (app/SignIn.tsx) once the server has accepted the credentials. */
export const AuthContext = createContext<Auth | undefined>(undefined);

export const canWith = (me: Me) => (scope: Scope) => me.scopes.some((s) => rank[s] >= rank[scope]);

/** The signed-in caller; only inside `<RequireSignIn>`. */
export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside <RequireSignIn>');
  return auth;
}
