import type { Queryable } from '../db/db.ts';
import type { HeldAttempt } from './rows.ts';

/**
 * The heartbeat: extends the leases of every attempt a worker is running, in one statement.
 * Returns the ids still held; an attempt missing from the answer has lost its lease (it expired and
 * was swept, or the task was cancelled or reported externally), and its handler must be stopped.
 */
export async function renewLeases(
  db: Queryable,
  owner: string,
  held: readonly HeldAttempt[],
  leaseSeconds: number,
): Promise<Set<string>> {
  if (held.length === 0) return new Set();
  const rows = await db.query<{ id: string }>(
    `update tasks t set lease_expires_at = now() + make_interval(secs => $4::float8)
     from unnest($5::uuid[], $2::uuid[], $3::int[]) as r(tenant_id, id, attempt)
     where t.tenant_id = r.tenant_id and t.id = r.id and t.attempts = r.attempt and t.lease_owner = $1 and t.status = 'in_progress'
     returning t.id`,
    [owner, held.map((h) => h.id), held.map((h) => h.attempt), leaseSeconds, held.map((h) => h.tenant_id)],
  );
  return new Set(rows.map((r) => r.id));
}
