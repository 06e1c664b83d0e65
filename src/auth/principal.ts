export const scopes = ['read', 'write', 'admin', 'metrics', 'pagi', 'feedback'] as const;
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
 * Scopes nest: admin includes write, write includes read. `metrics`, `pagi` and `feedback` stand
 * apart: each opens its own routes and nothing else (it includes no other scope, and no other scope
 * includes it). `metrics` reads /metrics, for scrapers; `pagi` reaches PAGI's compat routes, for the
 * key PAGI's clients already hold (`PAGI_API_KEY`, docs/compat.md); `feedback` posts scores on runs
 * and nothing else, for an app's end users (source `end_user`, rate-limited, docs/scores.md).
 */
const rank: Record<Scope, number> = { metrics: 0, pagi: 0, feedback: 0, read: 1, write: 2, admin: 3 };

/** Scopes that include no other and that no other includes. */
export const apartScopes: ReadonlySet<Scope> = new Set(['metrics', 'pagi', 'feedback']);

export function hasScope(principal: Principal, needed: Scope): boolean {
  if (apartScopes.has(needed)) return principal.scopes.has(needed);
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
