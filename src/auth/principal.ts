export const scopes = ['read', 'write', 'admin', 'metrics'] as const;
export type Scope = (typeof scopes)[number];

/** Who is calling, resolved from the credentials by `Authenticator`. */
export interface Principal {
  tenantId: string;
  tenantName: string;
  /** Stable identity for the journal: `key:<id>`, `session:<id>`, `user:<sub>`, `internal`, `dev:<user>`. */
  subject: string;
  scopes: ReadonlySet<Scope>;
  via: 'internal' | 'jwt' | 'api_key' | 'console_session' | 'dev';
  keyId?: string;
  /** The console session the request came with (via `console_session`), which sign-out ends. */
  sessionId?: string;
  /**
   * The user this request acts for inside its tenant, who owns what it creates: `user:<sub>` (JWT),
   * `dev:<name>`, the user a key was made for, or `key:<id>` for a key made for no user.
   */
  userId?: string;
}

/**
 * Scopes nest: admin includes write, write includes read. `metrics` stands apart, for scrapers: it
 * reads /metrics and nothing else (it includes no other scope, and no other scope includes it).
 */
const rank: Record<Scope, number> = { metrics: 0, read: 1, write: 2, admin: 3 };

export function hasScope(principal: Principal, needed: Scope): boolean {
  if (needed === 'metrics') return principal.scopes.has('metrics');
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

/**
 * Who may read /metrics (beside the metrics token): root admins and the default tenant's
 * metrics-scope keys. The metrics cover every tenant, so another tenant's key never reads them.
 */
export function canScrape(principal: Principal): boolean {
  return isRoot(principal) || (principal.tenantName === ROOT_TENANT && principal.scopes.has('metrics'));
}
