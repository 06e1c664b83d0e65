import type { Queryable } from '../db/db.ts';
import { type HeldAttempt, heldKeys } from './rows.ts';

/**
 * The heartbeat: extends the leases of every attempt a worker is running, in one statement.
 * Returns the ids still held; an attempt missing from the answer has lost its lease (it expired and
 * was swept, or the task was cancelled or reported externally), and its handler must be stopped.
 * The update is `task_renew_leases` (migration 0016): one primary-key probe per attempt.
 */
export async function renewLeases(
  db: Queryable,
  owner: string,
  held: readonly HeldAttempt[],
  leaseSeconds: number,
): Promise<Set<string>> {
  if (held.length === 0) return new Set();
  const rows = await db.query<{ id: string }>(
    'select task_renew_leases as id from task_renew_leases($1, $2, $3, $4, $5)',
    [owner, ...heldKeys(held), leaseSeconds],
  );
  return new Set(rows.map((r) => r.id));
}
