import type { Queryable } from '../db/db.ts';
import { TASKS_CHANNEL } from './enqueue.ts';

export interface Reaped {
  requeued: number;
  failed: number;
  /** Tasks that became terminal and have a callback to send. */
  callbacks: number;
  streams: string[];
}

/**
 * Sweeps attempts whose lease expired (the worker was killed, its machine is gone, or it stalled
 * past its heartbeat): each goes back to `pending`, runnable at once, as a new attempt on the next
 * claim, or to `failed` when it has used all its attempts. Every worker runs this every few seconds;
 * SKIP LOCKED lets them do it concurrently without double work. Keeping the sweep out of the claim
 * keeps the claim on one small partial index.
 */
export async function reapExpiredLeases(db: Queryable, limit = 500): Promise<Reaped> {
  const rows = await db.query<{ id: string; status: string; has_callback: boolean }>(
    `with expired as (
       select tenant_id, id from tasks where status = 'in_progress' and lease_expires_at < now()
       order by lease_expires_at limit $1 for update skip locked
     ), upd as (
       update tasks t
       set status = case when t.attempts >= t.max_attempts then 'failed' else 'pending' end,
           completed_at = case when t.attempts >= t.max_attempts then now() end,
           error_message = 'lease expired: worker ' || coalesce(t.lease_owner, '?') || ' stopped heartbeating',
           run_at = now(), lease_owner = null, lease_expires_at = null, updated_at = now()
       from expired where t.tenant_id = expired.tenant_id and t.id = expired.id
       returning t.id, t.tenant_id, t.status, t.attempts, t.error_message, t.callback_url
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'attempt_failed', json_build_object('attempt', attempts, 'error', error_message)
       from upd
       union all
       select tenant_id, id, 'failed', json_build_object('attempt', attempts, 'error', error_message)
       from upd where status = 'failed'
     ), cb as (
       insert into callback_outbox (id, tenant_id, task_id, url)
       select gen_random_uuid(), tenant_id, id, callback_url
       from upd where status = 'failed' and callback_url is not null
     )
     select id, status, (status = 'failed' and callback_url is not null) as has_callback from upd`,
    [limit],
  );
  if (rows.some((r) => r.status === 'pending')) await db.query(`select pg_notify('${TASKS_CHANNEL}', '')`);
  return {
    requeued: rows.filter((r) => r.status === 'pending').length,
    failed: rows.filter((r) => r.status === 'failed').length,
    callbacks: rows.filter((r) => r.has_callback).length,
    streams: rows.map((r) => r.id),
  };
}
