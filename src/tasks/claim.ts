import { ASYNC_COMMIT, type Queryable } from '../db/db.ts';
import type { ClaimedTask } from './rows.ts';

export interface ClaimOptions {
  /** The worker's identity, written as `lease_owner`. */
  owner: string;
  /** Most tasks to take (the worker's free slots, bounded by its batch size). */
  limit: number;
  leaseSeconds: number;
  /** Most tasks of one tenant running at once, across all workers; 0 means no cap. */
  tenantMaxRunning: number;
  /**
   * A NOTIFY channel to announce the claimed streams on from inside the statement (the `pg_notify`
   * live bus), saving the separate round trip of `announce()`: one notification per
   * `MAX_ANNOUNCED` ids, so a batch of any size is announced.
   */
  announceOn?: string;
}

/** Most stream ids one NOTIFY payload carries (8000 bytes; 37 each). */
export const MAX_ANNOUNCED = 200;

/**
 * The CTE that announces the rows of `source` (a CTE with an `id` column) on channel `$n`, one
 * notification per `MAX_ANNOUNCED` ids; it yields one row, so joining it never repeats rows, and
 * the statement must reference it (a SELECT CTE that is not referenced is not run).
 */
export function announceCte(source: string, channelParam: string): string {
  return `announced as (
       select count(*) as notes from (
         select pg_notify(${channelParam}, string_agg(id::text, ','))
           from (select id, (row_number() over () - 1) / ${MAX_ANNOUNCED} as part from ${source}) s
          where ${channelParam}::text is not null group by part
       ) n
     )`;
}

const NO_CAP = 2_147_483_647;

/**
 * Claims up to `limit` runnable tasks in one statement, in order of priority (higher first), then
 * `run_at`, then creation (ids are UUIDv7), and writes each one's `started` event (not for a task
 * whose type deletes it on success: its stream keeps only the outcome, see `completeTasks`).
 *
 * - The claim itself is `task_claim_rows` (migration 0016, where its SQL and the per-tenant cap are
 *   described; 0040 has it return all the worker reads, since a join back to `tasks` outside it
 *   was planned as a scan of the whole table): `FOR UPDATE SKIP LOCKED` over the partial index `tasks_runnable`, so concurrent
 *   claimers never wait on each other and never take the same row, and the update in the same
 *   statement, so a row is `in_progress` with its lease by the time the lock is released. Its plan
 *   is pinned (an ordered walk up to the limit, then a primary-key probe per task): a queue table's
 *   statistics, never analysed or older than the last burst, would otherwise make every claim read
 *   and sort the whole backlog. With no per-tenant cap, the running rows are not counted at all.
 * - `synchronous_commit` is off for this transaction only: the commit does not wait for the WAL
 *   flush. A PostgreSQL crash can then lose the last few hundred milliseconds of claims; those
 *   tasks are still `pending` after recovery and are simply claimed again (the handler had started,
 *   so it runs twice, as after any lost lease). An enqueue is never affected: it stays synchronous.
 * - The statement is prepared (`agentry_claim_tasks`): parsed and planned once per connection.
 * - The `started` event's data is built as JSON text (the owner comes JSON-quoted as `$6`): a
 *   `json_build_object` or `jsonb_build_object` per row costs several times as much (migration 0015).
 */
export async function claimTasks(db: Queryable, options: ClaimOptions): Promise<ClaimedTask[]> {
  return (await claimBatch(db, options)).tasks;
}

export interface ClaimResult {
  tasks: ClaimedTask[];
  /**
   * Fewer runnable tasks were found than asked for: claiming again before something changes (an
   * enqueue, a completion) would find nothing. A batch the tenant cap trimmed is not exhausted.
   */
  exhausted: boolean;
}

/** `claimTasks`, telling also whether the scan ran out of runnable tasks. */
export async function claimBatch(db: Queryable, options: ClaimOptions): Promise<ClaimResult> {
  if (options.limit <= 0) return { tasks: [], exhausted: false };
  const rows = await db.query<ClaimedTask & { exhausted: boolean }>(
    `with claimed as (
       select * from task_claim_rows($1, $2, $3, $4)
       where ${ASYNC_COMMIT}
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'started', ('{"attempt":' || attempt || ',"worker":' || $6 || '}')::json
       from claimed where not delete_on_success
     ), ${announceCte('claimed', '$5')}
     select id, tenant_id, agent_id, task_type, title, description, payload, attempt, max_attempts,
            session_id, parent_task_id, traceparent, tracestate, waited_seconds, delete_on_success,
            exhausted
     from claimed left join announced on true order by priority desc, run_at, id`,
    [
      options.owner,
      options.limit,
      options.tenantMaxRunning > 0 ? options.tenantMaxRunning : NO_CAP,
      options.leaseSeconds,
      options.announceOn ?? null,
      JSON.stringify(options.owner),
    ],
    { name: 'agentry_claim_tasks' },
  );
  return {
    tasks: rows.map(({ exhausted: _, ...task }) => task),
    exhausted: rows.length === 0 || rows[0]!.exhausted,
  };
}
