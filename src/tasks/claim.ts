import type { Queryable } from '../db/db.ts';
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
 * `run_at`, then creation (ids are UUIDv7), and writes each one's `started` event.
 *
 * - `FOR UPDATE SKIP LOCKED` over the partial index `tasks_runnable`: concurrent claimers never wait
 *   on each other and never take the same row; the update runs in the same statement, so a row is
 *   `in_progress` with its lease by the time the lock is released.
 * - The per-tenant cap costs one aggregate over the running rows (`tasks_running`, a partial index
 *   as small as the number of running tasks). Tenants at their cap are skipped in the scan, so a
 *   tenant with a deep backlog cannot hide the others' tasks; the window then trims a batch that
 *   would take a tenant past its cap. Claimers running at the same instant each see the count as of
 *   their own snapshot, so the cap can be overshot by concurrent claims (bounded by one batch per
 *   claimer): it is a fairness bound, not a hard limit.
 * - The cap test compares `tenant_id::text`: the planner has no statistics for that expression, so
 *   it keeps its default (most rows pass) and walks `tasks_runnable` in order, stopping after the
 *   batch. On the column itself, a one-tenant table makes it estimate that no row passes, and it
 *   sorts the whole backlog instead (30 ms per claim at 20,000 pending, against under 1 ms).
 * - `synchronous_commit` is off for this transaction only: the commit does not wait for the WAL
 *   flush. A PostgreSQL crash can then lose the last few hundred milliseconds of claims; those
 *   tasks are still `pending` after recovery and are simply claimed again (the handler had started,
 *   so it runs twice, as after any lost lease). An enqueue is never affected: it stays synchronous.
 * - The statement is prepared (`agentry_claim_tasks`): parsed once per connection, and its generic
 *   plan (the same walk of `tasks_runnable`) saves planning a dozen CTEs per claim.
 * - The `started` event's data is built as JSON text (the owner comes JSON-quoted as `$6`): a
 *   `json_build_object` or `jsonb_build_object` per row costs several times as much (migration 0015).
 */
export async function claimTasks(db: Queryable, o: ClaimOptions): Promise<ClaimedTask[]> {
  return (await claimBatch(db, o)).tasks;
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
export async function claimBatch(db: Queryable, o: ClaimOptions): Promise<ClaimResult> {
  if (o.limit <= 0) return { tasks: [], exhausted: false };
  const rows = await db.query<ClaimedTask & { exhausted: boolean }>(
    `with running as (
       select tenant_id, count(*)::int as n from tasks where status = 'in_progress' group by tenant_id
     ), candidates as (
       select t.id, t.tenant_id, t.priority, t.run_at from tasks t
       where t.status = 'pending' and t.run_at <= now()
         and t.tenant_id::text <> all (array(select r.tenant_id::text from running r where r.n >= $3))
       order by t.priority desc, t.run_at, t.id
       limit $2
       for update skip locked
     ), picked as (
       select ranked.tenant_id, ranked.id from (
         select c.tenant_id, c.id, coalesce(r.n, 0)
                  + row_number() over (partition by c.tenant_id order by c.priority desc, c.run_at, c.id) as rank
         from candidates c left join running r on r.tenant_id = c.tenant_id
       ) ranked
       where ranked.rank <= $3
     ), claimed as (
       update tasks t
       set status = 'in_progress', attempts = t.attempts + 1, lease_owner = $1,
           lease_expires_at = now() + make_interval(secs => $4::float8),
           started_at = coalesce(t.started_at, now()), updated_at = now()
       from picked
       where t.tenant_id = picked.tenant_id and t.id = picked.id
         and (select set_config('synchronous_commit', 'off', true)) = 'off'
       returning t.id, t.tenant_id, t.agent_id, t.task_type, t.title, t.description, t.payload,
                 t.attempts as attempt, t.max_attempts, t.session_id, t.parent_task_id,
                 t.priority, t.run_at
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'started', ('{"attempt":' || attempt || ',"worker":' || $6 || '}')::json
       from claimed
     ), ${announceCte('claimed', '$5')}
     select id, tenant_id, agent_id, task_type, title, description, payload, attempt, max_attempts,
            session_id, parent_task_id, (select count(*) from candidates) < $2 as exhausted
     from claimed left join announced on true order by priority desc, run_at, id`,
    [
      o.owner,
      o.limit,
      o.tenantMaxRunning > 0 ? o.tenantMaxRunning : NO_CAP,
      o.leaseSeconds,
      o.announceOn ?? null,
      JSON.stringify(o.owner),
    ],
    { name: 'agentry_claim_tasks' },
  );
  return {
    tasks: rows.map(({ exhausted: _, ...task }) => task),
    exhausted: rows.length === 0 || rows[0]!.exhausted,
  };
}
