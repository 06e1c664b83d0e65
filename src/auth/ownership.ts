import { AppError } from '../errors.ts';
import type { Principal } from './principal.ts';
import { hasScope } from './principal.ts';

/**
 * Who looks at a tenant's objects: a user (or a key acting for none) and whether it is the tenant's
 * admin. A `private` object is seen by its owner and by admins only; another user gets 404 as for
 * another tenant's object. An object without owner (made before ownership, or by the system) is
 * the tenant's.
 */
export interface Viewer {
  userId?: string;
  admin: boolean;
}

export function principalViewer(p: Principal): Viewer {
  return { userId: p.userId, admin: p.via === 'internal' || hasScope(p, 'admin') };
}

export function canSee(
  viewer: Viewer | undefined,
  object: { owner?: string | null; visibility?: string | null },
): boolean {
  return (
    !viewer ||
    viewer.admin ||
    object.visibility !== 'private' ||
    !object.owner ||
    object.owner === viewer.userId
  );
}

/** Whether some user of the tenant may not see the object (`canSee` is false for them). */
export const isPrivate = (object: { owner?: string | null; visibility?: string | null }): boolean =>
  object.visibility === 'private' && !!object.owner;

/**
 * The same rule as SQL, for lists: `$n` is bound to the viewer's user (null for admins and for
 * callers inside the process, who see everything), so one statement serves both.
 */
export const visibleSql = (n: number, alias = '') =>
  `($${n}::text is null or ${alias}visibility <> 'private' or ${alias}owner is null or ${alias}owner = $${n})`;

/**
 * A session (`alias`: its table's alias with the dot) the viewer may see, as SQL: its own
 * visibility, and its agent's, for what a private agent produced is as private as the agent.
 */
export const sessionVisibleSql = (n: number, alias: string) =>
  `(${visibleSql(n, alias)} and not exists (select 1 from agents va where va.id = ${alias}agent_id and not ${visibleSql(n, 'va.')}))`;

/**
 * A run (`alias`, with the dot) the viewer may see, as SQL: neither its session nor its agent is
 * another user's private one. A run without a session is seen as its agent is.
 */
export const runVisibleSql = (n: number, alias: string) =>
  `($${n}::text is null or (
     not exists (select 1 from sessions vs where vs.id = ${alias}session_id and not ${visibleSql(n, 'vs.')})
     and not exists (select 1 from agents va where va.id = ${alias}agent_id and not ${visibleSql(n, 'va.')})))`;

/**
 * Something an agent produced (`alias`, with the dot, on a table with `agent_id`: a task) the viewer
 * may see, as SQL: its agent is not another user's private one.
 */
export const agentWorkVisibleSql = (n: number, alias: string) =>
  `($${n}::text is null or not exists (select 1 from agents va where va.id = ${alias}agent_id and not ${visibleSql(n, 'va.')}))`;

/** The parameter `visibleSql` takes: the user whose private objects are the only private ones shown. */
export const visibleParam = (viewer: Viewer | undefined): string | null =>
  !viewer || viewer.admin ? null : (viewer.userId ?? '');

/** Only an object's owner (or an admin) may make it private or the tenant's again. */
export function assertMayChangeVisibility(
  viewer: Viewer | undefined,
  object: { owner?: string | null },
  what: string,
): void {
  if (!viewer || viewer.admin || !object.owner || object.owner === viewer.userId) return;
  throw new AppError('forbidden', `only the owner of ${what} or a tenant admin may change its visibility`);
}
