import type { Queryable } from '../db/db.ts';
import { TASKS_CHANNEL } from './enqueue.ts';
import { type HeldAttempt, heldKeys } from './rows.ts';

/**
 * Graceful shutdown: hands unfinished attempts back at once (status `pending`, lease cleared, runnable
 * now) instead of letting their leases run out, and wakes the other workers. The attempt counter is
 * not rolled back, so every attempt number stays unique; a hand-back never fails a task.
 */
export async function releaseTasks(
  db: Queryable,
  owner: string,
  held: readonly HeldAttempt[],
): Promise<number> {
  if (held.length === 0) return 0;
  const [row] = await db.query<{ n: number }>(
    `with rel as (
       update tasks t set status = 'pending', lease_owner = null, lease_expires_at = null, run_at = now(),
                          updated_at = now()
       from unnest($2::uuid[], $3::uuid[], $4::int[]) as r(tenant_id, id, attempt)
       where t.tenant_id = r.tenant_id and t.id = r.id and t.attempts = r.attempt and t.lease_owner = $1
       returning t.id, t.tenant_id, t.attempts
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'released', json_build_object('attempt', attempts, 'reason', 'worker shutdown')
       from rel
     )
     select count(*)::int as n, pg_notify('${TASKS_CHANNEL}', '') from rel`,
    [owner, ...heldKeys(held)],
  );
  return row?.n ?? 0;
}
