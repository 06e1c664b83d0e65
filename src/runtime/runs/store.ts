import type { Viewer } from '../../auth/ownership.ts';
import { ASYNC_COMMIT, type Db } from '../../db/db.ts';
import { AppError, notFound } from '../../errors.ts';
import { estimateTokens } from '../../models/tokens.ts';
import type { ChatMessage, ToolCall, Usage } from '../../models/types.ts';
import type { RunStatus } from '../schema.ts';
import type { ListRunsQuery, RunTrace } from '../trace/schema.ts';
import { listRuns, traceOfRun } from '../trace/traces.ts';
import type { RecordedResult } from '../types.ts';
import { type BeginInput, type Begun, beginInExisting, toMessage } from './begin.ts';
import { countRunsSince } from './counts.ts';
import type { PendingEvent, RunEvent } from './events.ts';
import { withSeqs } from './events.ts';
import { NewSessionStarts } from './new-sessions.ts';
import type { NewMessage, NewStep, RunRow, StepRow } from './rows.ts';
import { cancelRuns, expireRun } from './stop.ts';

export type { BeginInput, Begun } from './begin.ts';
export { AgentChanged } from './begin.ts';

/**
 * The runtime's SQL on the hot path. A chat turn costs: one statement to start it on a new session
 * (shared with the new sessions started beside it; a transaction of two on an existing one, which
 * also reads the history; see begin.ts), the
 * event batches, and one `advance` per tool round
 * plus one to finish: each writes the run's new state, its messages, its steps and its events
 * together, and only while this process still owns the run (a cancelled or reaped run is not
 * written to by its old executor).
 */

const runColumns = `id, tenant_id, session_id, agent_id, task_id, status, input, context, options, output,
  error_code, error_message, model_calls, step_count, usage, pending, lease_owner, agent_version, member_versions,
  parent_run_id, forked_from_step, created_at, started_at, completed_at, updated_at`;

/** Runs whose leases one statement renews (see `renewLeases`). */
export const RENEW_BATCH = 500;

export class RunStore {
  private readonly newSessions: NewSessionStarts;

  constructor(private readonly db: Db) {
    this.newSessions = new NewSessionStarts(db);
  }

  /**
   * Creates the run (and the session when none is given), applying the multitask strategy. New
   * sessions' first turns that arrive together are written together.
   */
  begin(b: BeginInput): Promise<Begun> {
    return b.sessionId ? beginInExisting(this.db, b, b.sessionId) : this.newSessions.begin(b);
  }

  /** The session's messages in order, as the model sees them. */
  async history(sessionId: string): Promise<ChatMessage[]> {
    const rows = await this.db.query<Parameters<typeof toMessage>[0]>(
      'select role, content, tool_calls, tool_call_id, parts from messages where session_id = $1 order by seq',
      [sessionId],
    );
    return rows.map(toMessage);
  }

  async get(tenantId: string, runId: string): Promise<RunRow> {
    const [row] = await this.db.query<RunRow>(
      `select ${runColumns} from runs where id = $1 and tenant_id = $2`,
      [runId, tenantId],
    );
    if (!row) throw notFound('run', runId);
    return row;
  }

  /**
   * The run that waits on these calls of its caller's tools (they are among its pending calls), if
   * one does: a caller's next request names its calls by their ids.
   */
  async waitingOn(tenantId: string, callIds: readonly string[]): Promise<RunRow | undefined> {
    const [row] = await this.db.query<RunRow>(
      `select ${runColumns} from runs
       where tenant_id = $1 and status = 'input_required' and pending @> $2::jsonb
       order by updated_at desc limit 1`,
      [tenantId, JSON.stringify(callIds.map((id) => ({ id })))],
    );
    return row;
  }

  /** Runs that have waited on their caller's tool results for over `seconds` (a batch). */
  async callerWaitsPast(seconds: number): Promise<Array<{ id: string; tenant_id: string }>> {
    return this.db.query(
      `select id, tenant_id from runs
       where status = 'input_required' and options -> 'caller_tools' is not null
         and updated_at < now() - make_interval(secs => $1)
       order by updated_at limit 100`,
      [seconds],
    );
  }

  /** Ends a run that still waits (`input_required`) as cancelled with code `expired`; false if it no longer waits. */
  async expire(runId: string, message: string): Promise<boolean> {
    const events = await expireRun(this.db, runId, message);
    return events.length > 0;
  }

  async steps(runId: string): Promise<StepRow[]> {
    return this.db.query<StepRow>(
      `select idx, kind, name, tool_call_id, input, output, error, usage, cost, started_at, duration_ms
       from run_steps where run_id = $1 order by idx`,
      [runId],
    );
  }

  /** A tenant's runs, newest first, filtered, a page at a time. */
  list(tenantId: string, q: ListRunsQuery, viewer?: Viewer) {
    return listRuns(this.db, tenantId, q, viewer);
  }

  /** A run's step tree (404 for another tenant's run). */
  trace(tenantId: string, runId: string): Promise<RunTrace> {
    return traceOfRun(this.db, tenantId, runId, (id) => this.steps(id));
  }

  /** A tenant's runs created since `since`, counted by status. */
  countSince(tenantId: string, since: Date): Promise<Record<string, number>> {
    return countRunsSince(this.db, tenantId, since);
  }

  /**
   * Ended runs (and their steps) older than the retention; at most `limit` per call, so a sweep
   * holds no long lock. Returns how many were deleted. The age is compared in seconds, since the
   * setting may be fractional (`make_interval(days => …)` takes only an integer).
   */
  async purgeEnded(olderThanDays: number, limit = 1000): Promise<number> {
    const rows = await this.db.query(
      `delete from runs where id in (
         select id from runs where completed_at < now() - make_interval(secs => $1::float8 * 86400) limit $2)
       returning 1`,
      [olderThanDays, limit],
    );
    return rows.length;
  }

  /**
   * Writes a run's progress in one statement, if this owner still holds it: counters, messages,
   * steps, events, and a new status when one is given (`input_required` or a terminal one, which
   * release the lease). Returns the written events, or undefined when the run is no longer ours.
   * With a new status it also says whether runs wait behind this one, so ending a run costs no
   * extra look-up.
   */
  async advance(a: Advance): Promise<Advanced | undefined> {
    const [row] = await this.db.query<{ ok: number; seqs: string[] | null; queued: boolean }>(
      `with r as (
         update runs set
           model_calls = model_calls + $3,
           step_count = step_count + jsonb_array_length($5::jsonb),
           usage = jsonb_build_object(
             'prompt_tokens', (usage->>'prompt_tokens')::int + $6,
             'completion_tokens', (usage->>'completion_tokens')::int + $7,
             'total_tokens', (usage->>'total_tokens')::int + $6 + $7),
           status = coalesce($8, status),
           output = coalesce($9, output),
           error_code = coalesce($10, error_code),
           error_message = coalesce($11, error_message),
           pending = $12::jsonb,
           -- A recorded step is progress: the run is no poison pill (takeOver).
           takeovers = case when $3 > 0 or jsonb_array_length($4::jsonb) > 0 or jsonb_array_length($5::jsonb) > 0
                            then 0 else takeovers end,
           lease_owner = case when $8::text is null and not $14 then lease_owner end,
           lease_expires_at = case when $8::text is null and not $14 then lease_expires_at end,
           completed_at = case when $8 in ('completed', 'failed', 'cancelled') then now() end,
           updated_at = now()
         where id = $1 and status = 'running' and lease_owner = $2
           -- A step that leaves the run running commits without waiting for the WAL flush (as the
           -- queue's claim and complete): on PostgreSQL a crash of this process loses nothing, a
           -- crash of the server the last steps only, which the takeover repeats (docs/durability.md).
           -- The embedded store commits synchronously (ASYNC_COMMIT in db.ts).
           and ($8::text is not null or ${ASYNC_COMMIT})
         returning session_id, tenant_id, step_count
       ), s as (
         update sessions set message_count = message_count + jsonb_array_length($4::jsonb), updated_at = now()
         where id = (select session_id from r) and jsonb_array_length($4::jsonb) > 0
         returning message_count
       ), m as (
         insert into messages (session_id, seq, tenant_id, run_id, role, content, tool_calls, tool_call_id, tokens)
         select r.session_id, s.message_count - jsonb_array_length($4::jsonb) + x.n::int - 1, r.tenant_id, $1,
                x.e->>'role', x.e->>'content', nullif(x.e->'tool_calls', 'null'::jsonb), x.e->>'tool_call_id',
                coalesce((x.e->>'tokens')::int, 0)
         from r, s, jsonb_array_elements($4::jsonb) with ordinality as x(e, n)
       ), st as (
         insert into run_steps (run_id, idx, tenant_id, kind, name, tool_call_id, input, output, error, usage,
                                cost, started_at, duration_ms, result)
         select $1, r.step_count - jsonb_array_length($5::jsonb) + x.n::int - 1, r.tenant_id, x.e->>'kind',
                x.e->>'name', x.e->>'tool_call_id', x.e->'input', x.e->'output', x.e->>'error',
                nullif(x.e->'usage', 'null'::jsonb), (x.e->>'cost')::float8, (x.e->>'started_at')::timestamptz, (x.e->>'duration_ms')::float8,
                x.e->>'result'
         from r, jsonb_array_elements($5::jsonb) with ordinality as x(e, n)
       ), ev as (
         insert into events (tenant_id, stream_id, type, data, at)
         select r.tenant_id, $1, x.e->>'type', x.e->'data', (x.e->>'at')::timestamptz
         from r, jsonb_array_elements($13::jsonb) with ordinality as x(e, n) order by x.n
         returning seq
       )
       select (select count(*) from r)::int as ok, (select array_agg(seq) from ev) as seqs,
              -- Only an end (or a pause) lets a queued run start: a step looks nothing up.
              $8::text is not null and exists (
                select 1 from runs q, r where q.session_id = r.session_id and q.status = 'queued') as queued`,
      [
        a.runId,
        a.owner,
        a.modelCalls ?? 0,
        JSON.stringify(a.messages ?? []),
        JSON.stringify(a.steps ?? []),
        a.usage?.prompt_tokens ?? 0,
        a.usage?.completion_tokens ?? 0,
        a.status ?? null,
        a.output ?? null,
        a.error?.code ?? null,
        a.error?.message ?? null,
        a.pending ? JSON.stringify(a.pending) : null,
        JSON.stringify(a.events ?? []),
        a.release ?? false,
      ],
      // Every step of every run: prepared once per connection on PostgreSQL, not planned each time.
      { name: 'agentry_run_advance' },
    );
    if (!row || row.ok === 0) return undefined;
    return { events: withSeqs(a.events ?? [], row.seqs ?? []), queued: row.queued };
  }

  /**
   * `input_required` (or `interrupted`) → `running` under this owner; 404 for another tenant's run,
   * 409 when it is not in that state. `paused_at` is when the run stopped (its last update).
   */
  async resume(
    tenantId: string,
    runId: string,
    owner: string,
    leaseSeconds: number,
    from: 'input_required' | 'interrupted' = 'input_required',
  ): Promise<RunRow & { paused_at: Date }> {
    const [row] = await this.db.query<RunRow & { paused_at: Date }>(
      // `pending` stays until the resumed loop's first write: the executor reads the calls from it.
      // The run's last update was its pause: when the approval wait began.
      `update runs set status = 'running', lease_owner = $3,
         lease_expires_at = now() + make_interval(secs => $4), updated_at = now(),
         error_code = case when $5 = 'interrupted' then null else error_code end,
         error_message = case when $5 = 'interrupted' then null else error_message end
       from (select updated_at as paused_at from runs where id = $1 and tenant_id = $2) p
       where id = $1 and tenant_id = $2 and status = $5
       returning ${runColumns}, p.paused_at`,
      [runId, tenantId, owner, leaseSeconds, from],
    );
    if (row) return row;
    const current = await this.get(tenantId, runId);
    const waiting = from === 'interrupted' ? 'interrupted' : 'waiting for approval';
    throw new AppError('conflict', `run ${runId} is ${current.status}, not ${waiting}`, {
      details: { status: current.status },
    });
  }

  /**
   * Tool results recorded on their own for these calls (see loop.ts `runTools`): a takeover reuses
   * them rather than run the calls again.
   */
  async recordedResults(runId: string, callIds: readonly string[]): Promise<Map<string, RecordedResult>> {
    if (callIds.length === 0) return new Map();
    const rows = await this.db.query<{
      tool_call_id: string;
      name: string;
      result: string;
      output: unknown;
      error: string | null;
    }>(
      `select tool_call_id, name, result, output, error from run_steps
       where run_id = $1 and kind = 'tool' and result is not null and tool_call_id = any($2::text[])`,
      [runId, callIds],
    );
    return new Map(
      rows.map((r) => [
        r.tool_call_id,
        {
          name: r.name,
          content: r.result,
          ...(r.error === null ? { output: r.output } : { error: r.error }),
        },
      ]),
    );
  }

  /** The version each member of a team's run runs, by agent id (recorded when the team assembles). */
  async recordMemberVersions(runId: string, versions: Record<string, number>): Promise<void> {
    await this.db.query('update runs set member_versions = $2::jsonb where id = $1', [
      runId,
      JSON.stringify(versions),
    ]);
  }

  /** A DAG run's finished nodes (their recorded `node_end`): node id → output. */
  async finishedNodes(runId: string): Promise<Map<string, string>> {
    const rows = await this.db.query<{ node_id: string; output: string }>(
      `select data->>'node_id' as node_id, data->>'output' as output from events
       where stream_id = $1 and type = 'node_end' and data->>'status' = 'completed'`,
      [runId],
    );
    return new Map(rows.map((r) => [r.node_id, r.output]));
  }

  /** The latest run of a task that did not fail or get cancelled: a re-run of the task adopts it. */
  async runOfTask(taskId: string): Promise<{ id: string; session_id: string } | undefined> {
    const [row] = await this.db.query<{ id: string; session_id: string }>(
      `select id, session_id from runs where task_id = $1 and status not in ('failed', 'cancelled')
       order by created_at desc limit 1`,
      [taskId],
    );
    return row;
  }

  /**
   * The latest run started with this idempotency key, whatever its state: the key is written by the
   * statement that starts the run, so a caller that died after it finds the run (an experiment's item).
   */
  async runByKey(tenantId: string, key: string): Promise<{ id: string; session_id: string } | undefined> {
    const [row] = await this.db.query<{ id: string; session_id: string }>(
      `select id, session_id from runs where tenant_id = $1 and options->>'idempotency_key' = $2
       order by created_at desc limit 1`,
      [tenantId, key],
    );
    return row;
  }

  /** Cancels a queued, running or waiting run, writing the end of its stream. Undefined when already over. */
  async cancel(tenantId: string, runId: string, reason: string): Promise<RunEvent[] | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ id: string }>(
        `select id from runs where id = $1 and tenant_id = $2
           and status in ('queued', 'running', 'input_required', 'interrupted')
         for update`,
        [runId, tenantId],
      );
      if (!row) {
        // Inside the transaction: on PGlite, `this.db` would wait for the connection this one holds.
        const [exists] = await tx.query('select 1 from runs where id = $1 and tenant_id = $2', [
          runId,
          tenantId,
        ]);
        if (!exists) throw notFound('run', runId);
        return undefined;
      }
      return cancelRuns(tx, `id = $1`, [runId], reason);
    });
  }

  /**
   * Takes the oldest queued run of a session when none is active there: it becomes `running` under
   * this owner and its user message is appended. Safe against other processes doing the same.
   */
  async claimQueued(sessionId: string, owner: string, leaseSeconds: number): Promise<RunRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [session] = await tx.query('select id from sessions where id = $1 for update', [sessionId]);
      if (!session) return undefined;
      const [row] = await tx.query<RunRow>(
        `update runs set status = 'running', lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3),
           started_at = now(), updated_at = now()
         where id = (select id from runs where session_id = $1 and status = 'queued' order by created_at, id limit 1)
           and not exists (select 1 from runs where session_id = $1 and status in ('running', 'input_required', 'interrupted'))
         returning ${runColumns}`,
        [sessionId, owner, leaseSeconds],
      );
      if (!row) return undefined;
      await tx.query(
        `with s as (
           update sessions set message_count = message_count + 1, updated_at = now() where id = $1 returning message_count
         )
         insert into messages (session_id, seq, tenant_id, run_id, role, content, tokens)
         select $1, s.message_count - 1, $2, $3, 'user', $4, $5 from s`,
        [sessionId, row.tenant_id, row.id, row.input, estimateTokens(row.input)],
      );
      return row;
    });
  }

  /** Sessions with queued runs and nothing active: work for `claimQueued`. */
  async sessionsWithQueued(limit = 100): Promise<string[]> {
    const rows = await this.db.query<{ session_id: string }>(
      `select distinct q.session_id from runs q
       where q.status = 'queued'
         and not exists (select 1 from runs a where a.session_id = q.session_id
                           and a.status in ('running', 'input_required', 'interrupted'))
       limit $1`,
      [limit],
    );
    return rows.map((r) => r.session_id);
  }

  /**
   * Extends the leases of the runs this process is executing, a statement per RENEW_BATCH of them.
   * By id: a run this process claimed but could not start (the store failed mid-way) keeps no lease
   * alive, so it expires and is taken over. In batches: one update of ten thousand runs held the
   * embedded store, and with it the event loop, for half a second; between batches the store gives
   * the loop its turn (db/loop-turns.ts).
   */
  async renewLeases(owner: string, leaseSeconds: number, runIds: readonly string[]): Promise<void> {
    for (let i = 0; i < runIds.length; i += RENEW_BATCH) {
      await this.db.query(
        `update runs set lease_expires_at = now() + make_interval(secs => $2)
         where lease_owner = $1 and status = 'running' and id = any($3::uuid[])`,
        [owner, leaseSeconds, runIds.slice(i, i + RENEW_BATCH)],
        { name: 'agentry_run_renew' },
      );
    }
  }

  /**
   * Takes over running runs whose executor is gone: leases that expired or were released (a
   * draining process), or (`all`, at the start of the only process an embedded store can have)
   * every one. They stay `running`, now leased to `owner`, which carries them on from their last
   * recorded step. A takeover after a lapsed lease of another process counts in `takeovers`
   * (set back to 0 by the run's next recorded step); one after a release or of this process's own
   * run (it stalled past its lease) does not.
   */
  async takeOver(all: boolean, owner: string, leaseSeconds: number, limit = 100): Promise<TakenOver[]> {
    return this.db.query<TakenOver>(
      `with old as (
         select id, lease_owner is null as released, lease_owner is not distinct from $2 as own, takeovers
         from runs
         where status = 'running' and ($1 or lease_owner is null or lease_expires_at < now())
         order by lease_expires_at nulls first limit $4 for update skip locked
       )
       update runs set lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3), updated_at = now(),
         takeovers = runs.takeovers + case when old.released or old.own then 0 else 1 end
       from old where runs.id = old.id
       returning ${runColumns.replace(/\b(\w+)\b/g, 'runs.$1')}, old.released, old.takeovers`,
      [all, owner, leaseSeconds, limit],
    );
  }
}

/**
 * A run just taken over: did its last executor release it (drained), and how often was it taken
 * over before this time with no step recorded since.
 */
export type TakenOver = RunRow & { released: boolean; takeovers: number };

export interface Advanced {
  events: RunEvent[];
  /** Runs are queued behind this one in its session (they can start once it has ended). */
  queued: boolean;
}

export interface Advance {
  runId: string;
  owner: string;
  modelCalls?: number;
  messages?: NewMessage[];
  steps?: NewStep[];
  usage?: Usage;
  status?: Exclude<RunStatus, 'queued' | 'running'>;
  output?: string;
  error?: { code: string; message: string };
  pending?: ToolCall[];
  events?: PendingEvent[];
  /** Give up the lease, leaving the run `running`: another process takes it over at once. */
  release?: boolean;
}
