import type { Queryable } from '../../db/db.ts';

/**
 * The smallest UUIDv7 made at or after `at`: ids are time-ordered, so `id >= minIdAt(at)` bounds a
 * scan of the `(tenant_id, id desc)` index to the window instead of the tenant's whole history.
 */
export function minIdAt(at: Date): string {
  const hex = Math.max(0, at.getTime()).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

/** A tenant's runs created since `since`, counted by status (for the console's overview). */
export async function countRunsSince(db: Queryable, tenantId: string, since: Date) {
  const rows = await db.query<{ status: string; count: number }>(
    `select status, count(*)::int as count from runs
     where tenant_id = $1 and id >= $2::uuid and created_at >= $3
     group by status`,
    [tenantId, minIdAt(since), since],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.count])) as Record<string, number>;
}
