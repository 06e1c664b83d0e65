import type { Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { TASKS_CHANNEL } from './enqueue.ts';
import type { TaskRow } from './rows.ts';

/**
 * The transitions the API asks for. Each is one statement that only matches the legal source
 * states, so two racing requests (or a request racing a worker) cannot both win; when nothing
 * matches the caller reads the row to tell 404 from 409.
 */

export type Transitioned = TaskRow & { was: string };

/** pending or in_progress → cancelled. A running attempt loses its lease here; its worker aborts it. */
export async function cancelTask(
  db: Queryable,
  tenantId: string,
  id: string,
  actor: string,
): Promise<Transitioned | undefined> {
  const [row] = await db.query<Transitioned>(
    `with old as (
       select id, status as was from tasks
       where tenant_id = $1 and id = $2 and status in ('pending', 'in_progress') for update
     ), upd as (
       update tasks t set status = 'cancelled', lease_owner = null, lease_expires_at = null,
                          completed_at = now(), updated_at = now()
       from old where t.tenant_id = $1 and t.id = old.id
       returning t.*, old.was
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'cancelled', json_build_object('by', $3::text, 'was', was) from upd
     ), cb as (
       insert into callback_outbox (id, tenant_id, task_id, url)
       select $4::uuid, tenant_id, id, callback_url from upd where callback_url is not null
     )
     select * from upd`,
    [tenantId, id, actor, newId()],
  );
  return row;
}

/** failed or cancelled → pending, attempts reset, runnable now. */
export async function retryTask(
  db: Queryable,
  tenantId: string,
  id: string,
  actor: string,
): Promise<TaskRow | undefined> {
  const [row] = await db.query<TaskRow>(
    `with upd as (
       update tasks set status = 'pending', attempts = 0, error_message = null, result = null,
                        result_summary = null, completed_at = null, run_at = now(), updated_at = now(),
                        callback_attempts = 0, callback_status = null
       where tenant_id = $1 and id = $2 and status in ('failed', 'cancelled')
       returning *
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'retried', json_build_object('by', $3::text) from upd
     )
     select upd.*, pg_notify('${TASKS_CHANNEL}', '') from upd`,
    [tenantId, id, actor],
  );
  if (!row) return undefined;
  const { pg_notify: _, ...task } = row as TaskRow & { pg_notify?: unknown };
  return task;
}

export interface ExternalReport {
  status: 'completed' | 'failed';
  result: unknown;
  summary: string | null;
  error: string | null;
}

/**
 * An external worker's report: pending or in_progress → completed/failed. A local attempt still
 * running loses its lease (its late result is then discarded by the lease check).
 */
export async function reportTask(
  db: Queryable,
  tenantId: string,
  id: string,
  actor: string,
  r: ExternalReport,
): Promise<Transitioned | undefined> {
  const [row] = await db.query<Transitioned>(
    `with old as (
       select id, status as was from tasks
       where tenant_id = $1 and id = $2 and status in ('pending', 'in_progress') for update
     ), upd as (
       update tasks t set status = $4, result = $5::jsonb, result_summary = $6, error_message = $7,
                          lease_owner = null, lease_expires_at = null, completed_at = now(), updated_at = now(),
                          started_at = coalesce(t.started_at, now())
       from old where t.tenant_id = $1 and t.id = old.id
       returning t.*, old.was
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, status, json_build_object('by', $3::text, 'external', true, 'error', $7::text)
       from upd
     ), jr as (
       insert into journal (id, tenant_id, actor, action, target, data)
       select $8::uuid, tenant_id, $3, 'task.report', id::text, json_build_object('outcome', status) from upd
     ), cb as (
       insert into callback_outbox (id, tenant_id, task_id, url)
       select $9::uuid, tenant_id, id, callback_url from upd where callback_url is not null
     )
     select * from upd`,
    [
      tenantId,
      id,
      actor,
      r.status,
      r.result === undefined ? null : JSON.stringify(r.result),
      r.summary,
      r.error,
      newId(),
      newId(),
    ],
  );
  return row;
}
