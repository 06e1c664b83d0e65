import type { Queryable } from '../db/db.ts';

/**
 * The heartbeat: extends the leases of every attempt a worker is running, in one statement.
 * Returns the ids still held; an attempt missing from the answer has lost its lease (it expired and
 * was swept, or the task was cancelled or reported externally), and its handler must be stopped.
 */
export async function renewLeases(
  db: Queryable,
  owner: string,
  held: ReadonlyArray<{ id: string; attempt: number }>,
  leaseSeconds: number,
): Promise<Set<string>> {
  if (held.length === 0) return new Set();
  const rows = await db.query<{ id: string }>(
    `update tasks t set lease_expires_at = now() + make_interval(secs => $4::float8)
     from unnest($2::uuid[], $3::int[]) as r(id, attempt)
     where t.id = r.id and t.attempts = r.attempt and t.lease_owner = $1 and t.status = 'in_progress'
     returning t.id`,
    [owner, held.map((h) => h.id), held.map((h) => h.attempt), leaseSeconds],
  );
  return new Set(rows.map((r) => r.id));
}
