import type { Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import type { HeldAttempt } from './rows.ts';

export interface Failure extends HeldAttempt {
  error: string;
  /** False when the handler marked the error non-retryable: the task fails at once. */
  retryable: boolean;
  /** Backoff before the next attempt, already jittered by the caller. */
  retryDelayMs: number;
  durationMs: number;
}

export interface Failed {
  id: string;
  tenant_id: string;
  /** `pending` (will retry at run_at) or `failed` (out of attempts, or non-retryable). */
  status: 'pending' | 'failed';
  run_at: Date;
  has_callback: boolean;
}

/**
 * Records a failed attempt in one statement: back to `pending` with a backoff while attempts remain,
 * else `failed` with `error_message`; writes `attempt_failed` (and `failed`) events, the journal
 * entry and, when terminal, the callback outbox row. Like completion it matches the lease owner and
 * attempt, so a worker that lost its lease cannot fail a newer attempt. Returns undefined then.
 */
export async function failTask(db: Queryable, owner: string, f: Failure): Promise<Failed | undefined> {
  const [row] = await db.query<Failed>(
    `with f as (
       update tasks t
       set status = case when $4 and t.attempts < t.max_attempts then 'pending' else 'failed' end,
           run_at = case when $4 and t.attempts < t.max_attempts
                         then now() + make_interval(secs => $5::float8 / 1000) else t.run_at end,
           completed_at = case when $4 and t.attempts < t.max_attempts then null else now() end,
           error_message = $3, lease_owner = null, lease_expires_at = null, updated_at = now()
       where t.tenant_id = $10 and t.id = $1 and t.lease_owner = $2 and t.attempts = $6
       returning t.id, t.tenant_id, t.status, t.attempts, t.run_at, t.callback_url
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'attempt_failed',
              json_build_object('attempt', attempts, 'error', $3::text,
                                 'retry_at', case when status = 'pending' then run_at end)
       from f
       union all
       select tenant_id, id, 'failed', json_build_object('attempt', attempts, 'error', $3::text)
       from f where status = 'failed'
     ), jr as (
       insert into journal (id, tenant_id, actor, action, target, data)
       select $8::uuid, tenant_id, 'worker:' || $2, 'task.attempt', id::text,
              json_build_object('attempt', attempts, 'outcome', 'failed', 'duration_ms', $7::int,
                                 'error', $3::text, 'will_retry', status = 'pending')
       from f
     ), cb as (
       insert into callback_outbox (id, tenant_id, task_id, url)
       select $9::uuid, tenant_id, id, callback_url from f where status = 'failed' and callback_url is not null
     )
     select id, tenant_id, status, run_at, (status = 'failed' and callback_url is not null) as has_callback
     from f`,
    [
      f.id,
      owner,
      f.error,
      f.retryable,
      f.retryDelayMs,
      f.attempt,
      Math.round(f.durationMs),
      newId(),
      newId(),
      f.tenant_id,
    ],
  );
  return row;
}
