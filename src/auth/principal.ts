export const scopes = ['read', 'write', 'admin'] as const;
export type Scope = (typeof scopes)[number];

/** Who is calling, resolved from the credentials by `Authenticator`. */
export interface Principal {
  tenantId: string;
  tenantName: string;
  /** Stable identity for the journal: `key:<id>`, `user:<sub>`, `internal`, `dev:<user>`. */
  subject: string;
  scopes: ReadonlySet<Scope>;
  via: 'internal' | 'jwt' | 'api_key' | 'dev';
  keyId?: string;
  /**
   * The user this request acts for inside its tenant, who owns what it creates: `user:<sub>` (JWT),
   * `dev:<name>`, the user a key was made for, or `key:<id>` for a key made for no user.
   */
  userId?: string;
}

/** Scopes nest: admin includes write, write includes read. */
const rank: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export function hasScope(principal: Principal, needed: Scope): boolean {
  for (const s of principal.scopes) if (rank[s] >= rank[needed]) return true;
  return false;
}

/** The tenant created at first start; its admins (and internal services) manage other tenants. */
export const ROOT_TENANT = 'default';

export function isRoot(principal: Principal): boolean {
  return (
    principal.via === 'internal' || (principal.tenantName === ROOT_TENANT && hasScope(principal, 'admin'))
  );
}
