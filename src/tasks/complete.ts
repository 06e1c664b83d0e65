import { plainArray } from '../db/arrays.ts';
import { ASYNC_COMMIT, type Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { announceCte } from './claim.ts';
import { type HeldAttempt, heldKeys } from './rows.ts';

export interface TaskCompletion extends HeldAttempt {
  result: unknown;
  summary: string | null;
  durationMs: number;
  /** Its task type's `retention: delete`: the row is deleted instead of marked completed. */
  deleteRow?: boolean;
}

export interface Completed {
  id: string;
  tenant_id: string;
  has_callback: boolean;
}

/** One batch's columns for `task_complete_rows` / `task_delete_rows`, after the owner. */
const columns = (batch: readonly TaskCompletion[]) => [
  ...heldKeys(batch),
  batch.map((c) => (c.result === undefined ? null : JSON.stringify(c.result))),
  batch.map((c) => c.summary),
  plainArray(batch.map((c) => Math.round(c.durationMs))),
  plainArray(batch.map(() => newId())),
];

/**
 * Completes a batch of attempts of one worker in one statement: the task rows, their `completed`
 * events, one journal entry per attempt and the callback outbox rows.
 *
 * Retention (migration 0079): the attempts of tasks whose type says `retention: delete` have their
 * row deleted instead (`task_delete_rows`), in the same statement. They still log their `completed`
 * event (a follower's stream ends on it) and their callback (sent from the task as it stood, kept on
 * the outbox row); they leave no journal entry, as they logged no `created` or `started` event: a
 * high-volume type trades its history for write volume. A deleted task reads as not found (404).
 *
 * Lease ownership is part of the match (`lease_owner` and `attempts`): a result whose lease was lost
 * (expired and re-claimed, cancelled, reported externally) matches no row and is dropped, so it
 * never overwrites a newer attempt. Only the rows actually completed are returned. A held lease
 * implies `in_progress` (a table constraint, migration 0016), so the status is not tested again.
 *
 * The task rows are updated by `task_complete_rows` (migration 0016), whose plan is pinned to one
 * primary-key probe per attempt. The event's and the journal entry's data are built as JSON text,
 * as in `claimTasks`.
 *
 * `synchronous_commit` is off for this transaction (see `claimTasks`): a PostgreSQL crash can lose
 * the last few hundred milliseconds of completions, whose tasks then show `in_progress` until their
 * lease expires and run again as a new attempt. Nothing is lost; at worst a task runs twice.
 */
export async function completeTasks(
  db: Queryable,
  owner: string,
  batch: readonly TaskCompletion[],
  /** As in `claimTasks`: a NOTIFY channel for the completed streams. */
  announceOn?: string,
): Promise<Completed[]> {
  if (batch.length === 0) return [];
  const kept = batch.filter((c) => !c.deleteRow);
  const deleted = kept.length === batch.length ? [] : batch.filter((c) => c.deleteRow);
  return db.query<Completed>(
    `with kept as (
       select * from task_complete_rows($1, $2, $3, $4, $5, $6, $7, $8)
       where ${ASYNC_COMMIT}
     ), gone as (
       select * from task_delete_rows($1, $10, $11, $12, $13, $14, $15, $16)
       where ${ASYNC_COMMIT}
     ), done as (
       select id, tenant_id, attempts, callback_url, null::jsonb as task from kept
       union all select id, tenant_id, attempts, callback_url, task from gone
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'completed', ('{"attempt":' || attempts || '}')::json from done
     ), jr as (
       insert into journal (id, tenant_id, actor, action, target, data)
       select journal_id, tenant_id, 'worker:' || $1, 'task.attempt', id::text,
              ('{"attempt":' || attempts || ',"outcome":"completed","duration_ms":' || ms || '}')::json
       from kept
     ), cb as (
       insert into callback_outbox (id, tenant_id, task_id, url, task)
       select gen_random_uuid(), tenant_id, id, callback_url, task from done where callback_url is not null
     ), ${announceCte('done', '$9')}
     select id, tenant_id, callback_url is not null as has_callback from done left join announced on true`,
    [owner, ...columns(kept), announceOn ?? null, ...columns(deleted)],
    { name: 'agentry_complete_tasks' },
  );
}
