import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AppError, toError } from '../errors.ts';
import { EitherSignal, type StopSignal } from '../events/log.ts';
import { CallSignal } from '../models/call-signal.ts';
import type { Workspace } from '../tools/workspace.ts';
import { expireCallerWaits, refuseCallerWait, supplyToolResults } from './caller-tools.ts';
import type { Host } from './host.ts';
import {
  abortEverywhere,
  CANCEL_TOPIC,
  continued,
  failStarted,
  launch,
  RELEASED_TOPIC,
  startQueued,
  workspace,
} from './launch.ts';
import { CALLER_WAIT_EVENT } from './loop/execute.ts';
import { agentBeforeResume } from './run-agent.ts';
import { AgentCache } from './runs/agent-cache.ts';
import { Announcer, type RunEvent } from './runs/events.ts';
import { followRun } from './runs/follow.ts';
import { resultOf } from './runs/outcome.ts';
import type { RunRow } from './runs/rows.ts';
import { toRun } from './runs/rows.ts';
import { RunStore } from './runs/store.ts';
import { type ForkInput, type Run, runSchema } from './schema.ts';
import { startFork, startRun } from './start.ts';
import { resumeInterrupted, sweep } from './takeover.ts';
import type { RunCaller, RunHandle, RuntimeDeps, StartInput } from './types.ts';
import { RunAborted, type RunResult } from './types.ts';

export type { Executor, RunCaller, RunHandle, RuntimeDeps, StartInput } from './types.ts';

/**
 * Runs agents in this process: starts runs for chats and tasks, resumes them on approval, cancels
 * them (here or, through the bus, in whichever process executes them), keeps the leases of the
 * runs it executes alive, and takes over the runs whose process died or drained, carrying them on
 * from their last recorded step (docs/durability.md). Streams are the event log (stream id = run
 * id), followed live; see follow.ts. Its rooms: start.ts (runs and forks begun), launch.ts
 * (execution here, queued runs), takeover.ts (runs carried on), caller-tools.ts.
 */
export class Runtime {
  readonly store: RunStore;
  /** Identifies this process in `runs.lease_owner`. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** What the rooms share (host.ts). */
  private readonly host: Host;
  /**
   * Aborted when the runtime stops: every follower of a run listens to it, so it is a CallSignal (a
   * listener is an array entry; an AbortSignal warns past ten and keeps each in a Map).
   */
  private readonly closing = new CallSignal();
  /** Aborted at shutdown: runs stop at their next step boundary and release their leases. */
  private readonly draining = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: Array<() => Promise<void>> = [];
  private stopping?: Promise<void>;

  constructor(private readonly deps: RuntimeDeps) {
    this.store = new RunStore(deps.db);
    this.host = {
      deps,
      store: this.store,
      owner: this.owner,
      live: new Map(),
      announcer: new Announcer(deps.bus, deps.log),
      agents: new AgentCache(deps.agents),
      versions: new Map(),
      draining: this.draining.signal,
      stopping: () => this.stopping !== undefined,
    };
  }

  /** Aborts when the runtime stops: open streams end then. */
  get closingSignal(): StopSignal {
    return this.closing;
  }

  /** Takes over the runs a dead process left, starts queued runs, then keeps leases and sweeps on a timer. */
  async start(): Promise<void> {
    this.unsubscribe.push(
      await this.deps.bus.subscribe(CANCEL_TOPIC, (runId) => {
        this.host.live.get(runId)?.controller.abort(new RunAborted('cancelled', 'the run was cancelled'));
      }),
      await this.deps.bus.subscribe(RELEASED_TOPIC, () => {
        sweep(this.host, false).catch((err) => this.deps.log.warn({ err: toError(err) }, 'takeover failed'));
      }),
    );
    // The embedded store belongs to this one process: every run still `running` was left by its
    // last start. PostgreSQL is shared: only runs whose lease expired or was released are.
    await sweep(this.host, this.deps.db.kind === 'pglite');
    const lease = this.deps.config.lease_seconds * 1000;
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => {
        fn().catch((err) => this.deps.log.warn({ err: toError(err) }, 'runtime housekeeping failed'));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(lease / 3, () =>
      this.host.live.size > 0
        ? this.store.renewLeases(this.owner, this.deps.config.lease_seconds, [...this.host.live.keys()])
        : Promise.resolve(),
    );
    // At most a second after a lease expires, a run is taken over (lease + 1 s).
    every(Math.min(lease / 2, 1000), () => sweep(this.host, false));
    const retention = this.deps.config.run_retention_days;
    // A run that waits on its caller's tool results for longer than the setting is cancelled.
    const waitMs = this.deps.config.caller_tool_wait_seconds * 1000;
    every(Math.max(100, Math.min(waitMs / 2, 60_000)), () => expireCallerWaits(this.host));
    if (retention > 0) {
      every(this.deps.config.run_retention_sweep_seconds * 1000, () => this.purgeOld(retention));
    }
  }

  /** Deletes ended runs (with their traces) past the retention, a batch at a time. */
  async purgeOld(days: number): Promise<number> {
    let total = 0;
    for (let n = -1; n !== 0 && !this.stopping; total += n) n = await this.store.purgeEnded(days);
    if (total > 0) this.deps.log.info({ runs: total, days }, 'deleted runs past their retention');
    return total;
  }

  /**
   * Idempotent. Drains: takes no new work, lets the runs executing here reach a step boundary
   * within `runtime.drain_seconds` (at most `graceMs`), aborts those still going, and releases every
   * one's lease (another process takes them over at once); then ends every open stream.
   */
  stop(graceMs = 30_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      this.draining.abort();
      const settled = () => Promise.allSettled([...this.host.live.values()].map((r) => r.done));
      const within = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
      await Promise.race([settled(), within(Math.min(graceMs, this.deps.config.drain_seconds * 1000))]);
      for (const run of this.host.live.values()) {
        run.controller.abort(new RunAborted('shutdown', 'the server is shutting down'));
      }
      await Promise.race([settled(), within(1000)]);
      this.closing.abort(new Error('the runtime stopped'));
      // Closing: a bus already gone has nothing left to unsubscribe.
      for (const off of this.unsubscribe) await off().catch(() => {});
    })();
    return this.stopping;
  }

  /** Starts a run of `agentId` on a message: a new session, or the given one by its multitask rule. */
  run(caller: RunCaller, agentId: string, input: StartInput): Promise<RunHandle> {
    return startRun(this.host, caller, agentId, input, (runId) => this.wait(caller.tenantId, runId));
  }

  /** The run that waits on these calls of its caller's tools, if one does (see `supplyToolResults`). */
  waitingOn(tenantId: string, callIds: readonly string[]): Promise<RunRow | undefined> {
    return this.store.waitingOn(tenantId, callIds);
  }

  /**
   * Resumes a run that waits on its caller's tool results, as an approval resumes one: the results
   * (by call id) become the calls' outputs, the turn's other calls run, and the loop carries on in
   * the same run. 400 when a result the run waits on is missing; 409 when it no longer waits or a
   * person's approval is still due.
   */
  supplyToolResults(
    caller: RunCaller,
    runId: string,
    results: ReadonlyMap<string, string>,
  ): Promise<RunHandle> {
    return supplyToolResults(this.host, caller, runId, results);
  }

  /**
   * Forks a run (runs/fork.ts): a new run in a new session, from a recorded step of `runId` with
   * the conversation before it and the changes asked for, at the agent version the run ran unless
   * another is asked for, linked to its parent. Started here; follow it at /v1/runs/:id/stream.
   */
  fork(caller: RunCaller, runId: string, input: ForkInput): Promise<RunRow> {
    return startFork(this.host, caller, runId, input);
  }

  /** Approves (or denies, with a reason the model sees) the tool calls a run waits on, and resumes it. */
  async decide(caller: RunCaller, runId: string, approved: boolean, reason?: string): Promise<Run> {
    if (this.stopping) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
    const agent = await agentBeforeResume(this.host, caller, runId);
    if (!(agent instanceof AppError)) await refuseCallerWait(this.host, caller.tenantId, runId, agent);
    const row = await this.store.resume(caller.tenantId, runId, this.owner, this.deps.config.lease_seconds);
    if (agent instanceof AppError) {
      await failStarted(this.host, row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
      throw agent;
    }
    launch(this.host, caller, agent, {
      ...continued(row),
      resume: { toolCalls: row.pending ?? [], approved, reason, pausedAt: row.paused_at },
      // Unknown here: followers replay from the log before taking events from the writer.
      lastSeq: -1,
    });
    return runSchema.parse(toRun({ ...row, status: 'running' }));
  }

  /**
   * Resumes an `interrupted` run: the tool calls that were in flight when its process died run
   * again (a person decided they may), and the run carries on. 409 when it is not interrupted.
   */
  resumeInterrupted(caller: RunCaller, runId: string): Promise<Run> {
    return resumeInterrupted(this.host, caller, runId);
  }

  /** Cancels a queued, running or waiting run. 409 when it has already ended. */
  async cancel(tenantId: string, runId: string, reason = 'cancelled by the client'): Promise<void> {
    const written = await this.store.cancel(tenantId, runId, reason);
    if (!written) {
      const run = await this.store.get(tenantId, runId);
      throw new AppError('conflict', `run ${runId} has already ended (${run.status})`);
    }
    this.host.announcer.add(runId);
    abortEverywhere(this.host, runId);
    const run = await this.store.get(tenantId, runId);
    startQueued(this.host, run.session_id);
  }

  /** The run's events after `afterSeq`, live, until its stream ends or `signal` aborts. */
  follow(runId: string, afterSeq: number, signal: StopSignal): AsyncGenerator<RunEvent> {
    const live = this.host.live.get(runId);
    return followRun({
      db: this.deps.db,
      bus: this.deps.bus,
      runId,
      afterSeq,
      signal: new EitherSignal(signal, this.closing),
      live: live && { writer: live.writer },
    });
  }

  /**
   * Waits for a run to end (or, with `untilPause`, to wait for approval), wherever it executes,
   * and reports how. Throws when `signal` aborts first.
   */
  async wait(
    tenantId: string,
    runId: string,
    options: { signal?: AbortSignal; untilPause?: boolean } = {},
  ): Promise<RunResult> {
    let last = 0;
    for (;;) {
      const controller = new AbortController();
      const stop = AbortSignal.any([controller.signal, ...(options.signal ? [options.signal] : [])]);
      let stoppedAt: string | undefined;
      for await (const e of this.follow(runId, last, stop)) {
        last = e.seq;
        const paused = e.type === 'approval_required' || e.type === CALLER_WAIT_EVENT;
        if (e.type === 'session_end' || (options.untilPause && paused)) {
          stoppedAt = e.type;
          break;
        }
      }
      controller.abort();
      if (options.signal?.aborted) throw options.signal.reason;
      if (!stoppedAt && this.closing.aborted) {
        throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
      }
      const row = await this.store.get(tenantId, runId);
      // An approval_required already answered (replayed from the log) is not a pause: keep following.
      if (stoppedAt && stoppedAt !== 'session_end' && row.status !== 'input_required') continue;
      return resultOf(row, await this.store.steps(runId));
    }
  }

  /** The live (or completed) run of a task, when one survived an earlier try of the task. */
  async runOfTask(tenantId: string, taskId: string): Promise<RunHandle | undefined> {
    const found = await this.store.runOfTask(taskId);
    return found && this.adopt(tenantId, found.id);
  }

  /**
   * The latest run started with this idempotency key (in any state), when one was: an experiment's
   * lane run again after its process died follows the item's run (taken over by another process)
   * rather than pay for a second one.
   */
  async runOfKey(tenantId: string, idempotencyKey: string): Promise<RunHandle | undefined> {
    const found = await this.store.runByKey(tenantId, idempotencyKey);
    return found && this.adopt(tenantId, found.id);
  }

  /** A handle on a run started earlier (here or elsewhere): its result is its end, or its pause for approval. */
  private async adopt(tenantId: string, runId: string): Promise<RunHandle> {
    const row = await this.store.get(tenantId, runId);
    return {
      sessionId: row.session_id,
      runId: row.id,
      status: row.status === 'queued' ? 'queued' : 'running',
      events: [],
      result: () => this.host.live.get(row.id)?.done ?? this.wait(tenantId, row.id, { untilPause: true }),
    };
  }

  /** The directory file tools may use in a session. */
  workspace(tenantId: string, sessionId: string): Workspace {
    return workspace(this.deps.config, tenantId, sessionId);
  }
}
