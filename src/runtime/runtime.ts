import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Agent } from '../agents/schema.ts';
import { agentAtVersion } from '../agents/versions.ts';
import { canSee } from '../auth/ownership.ts';
import { AppError, isNotFound, notFound, toError, unlessNotFound } from '../errors.ts';
import { EitherSignal, type StopSignal } from '../events/log.ts';
import { CallSignal } from '../models/call-signal.ts';
import type { ContentPart, Usage } from '../models/types.ts';
import { Workspace } from '../tools/workspace.ts';
import { messageParts } from './attachments.ts';
import { CALLER_WAIT_EVENT } from './loop/execute.ts';
import { executorFor, routeByEnv } from './routing.ts';
import { AgentCache } from './runs/agent-cache.ts';
import { Announcer, event, type RunEvent, RunEventWriter } from './runs/events.ts';
import { followRun } from './runs/follow.ts';
import { beginFork, forkStart } from './runs/fork.ts';
import { resultOf, systemEvent } from './runs/outcome.ts';
import type { RunOptions, RunRow } from './runs/rows.ts';
import { toRun } from './runs/rows.ts';
import { AgentChanged, type Begun, RunStore, type TakenOver } from './runs/store.ts';
import { type ForkInput, type Run, runSchema } from './schema.ts';
import { recordApprovalWait, startRunSpan } from './trace/run-span.ts';
import type { RunCaller, RunHandle, RuntimeDeps, StartInput } from './types.ts';
import { RunAborted, type RunResult, type RunSpec } from './types.ts';

export type { Executor, RunCaller, RunHandle, RuntimeDeps, StartInput } from './types.ts';

/** Bus topic asking every process to stop a run it is executing (its state is already `cancelled`). */
const CANCEL_TOPIC = 'agentry_run_cancel';
/** Bus topic telling every process that a draining one released a run: take it over now. */
const RELEASED_TOPIC = 'agentry_run_released';

interface LiveRun {
  controller: AbortController;
  writer: RunEventWriter;
  done: Promise<RunResult>;
}

/**
 * Runs agents in this process: starts runs for chats and tasks, resumes them on approval, cancels
 * them (here or, through the bus, in whichever process executes them), keeps the leases of the
 * runs it executes alive, and takes over the runs whose process died or drained, carrying them on
 * from their last recorded step (docs/durability.md). Streams are the event log (stream id = run
 * id), followed live; see follow.ts.
 */
export class Runtime {
  readonly store: RunStore;
  /** Identifies this process in `runs.lease_owner`. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly live = new Map<string, LiveRun>();
  private readonly announcer: Announcer;
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

  /** Agent configs between turns; each run's first statement checks the version it used. */
  private readonly agents: AgentCache;
  /** Agents as at a pinned version, by `tenant:id@version` (versions are immutable). */
  private readonly versions = new Map<string, Agent>();

  constructor(private readonly deps: RuntimeDeps) {
    this.store = new RunStore(deps.db);
    this.agents = new AgentCache(deps.agents);
    this.announcer = new Announcer(deps.bus, deps.log);
  }

  /** Aborts when the runtime stops: open streams end then. */
  get closingSignal(): StopSignal {
    return this.closing;
  }

  /** Takes over the runs a dead process left, starts queued runs, then keeps leases and sweeps on a timer. */
  async start(): Promise<void> {
    this.unsubscribe.push(
      await this.deps.bus.subscribe(CANCEL_TOPIC, (runId) => {
        this.live.get(runId)?.controller.abort(new RunAborted('cancelled', 'the run was cancelled'));
      }),
      await this.deps.bus.subscribe(RELEASED_TOPIC, () => {
        this.sweep(false).catch((err) => this.deps.log.warn({ err: toError(err) }, 'takeover failed'));
      }),
    );
    // The embedded store belongs to this one process: every run still `running` was left by its
    // last start. PostgreSQL is shared: only runs whose lease expired or was released are.
    await this.sweep(this.deps.db.kind === 'pglite');
    const lease = this.deps.config.lease_seconds * 1000;
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => {
        fn().catch((err) => this.deps.log.warn({ err: toError(err) }, 'runtime housekeeping failed'));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(lease / 3, () =>
      this.live.size > 0
        ? this.store.renewLeases(this.owner, this.deps.config.lease_seconds, [...this.live.keys()])
        : Promise.resolve(),
    );
    // At most a second after a lease expires, a run is taken over (lease + 1 s).
    every(Math.min(lease / 2, 1000), () => this.sweep(false));
    const retention = this.deps.config.run_retention_days;
    // A run that waits on its caller's tool results for longer than the setting is cancelled.
    const waitMs = this.deps.config.caller_tool_wait_seconds * 1000;
    every(Math.max(100, Math.min(waitMs / 2, 60_000)), () => this.expireCallerWaits());
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
      const settled = () => Promise.allSettled([...this.live.values()].map((r) => r.done));
      const within = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
      await Promise.race([settled(), within(Math.min(graceMs, this.deps.config.drain_seconds * 1000))]);
      for (const run of this.live.values()) {
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
  async run(caller: RunCaller, agentId: string, input: StartInput): Promise<RunHandle> {
    if (this.stopping) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
    const parts = messageParts(input.message, input.attachments, this.deps.config.max_attachment_bytes);
    const pin = input.agent_version;
    let latest = await this.agents.get(caller.tenantId, agentId);
    if (!canSee(caller.viewer, latest)) throw notFound('agent', agentId);
    let agent = await this.pinned(latest, pin);
    await this.deps.admit?.(caller.tenantId, agent);
    if (input.callerTools?.length) await this.admitCallerTools(caller.tenantId, agent, input);
    let begun: Begun | undefined;
    let options: RunOptions | undefined;
    const context = input.context ?? {};
    // A remembered agent that changed meanwhile (here or in another process) is read again, once.
    for (let attempt = 0; !begun; attempt++) {
      const multiAgent = input.multiAgent ?? routeByEnv(agent, this.deps.executors ?? {});
      options = {
        streaming: input.stream,
        max_steps: input.max_steps ?? this.deps.config.max_steps,
        on_disconnect: input.on_disconnect,
        ...(multiAgent && { multi_agent: multiAgent }),
        ...(input.idempotencyKey && { idempotency_key: input.idempotencyKey }),
        ...(caller.traceId && { trace_id: caller.traceId }),
        ...(input.heldSandbox && { held_sandbox: true }),
        ...(pin !== undefined && { pinned: true }),
        ...(input.response_format !== undefined && { response_format: input.response_format }),
        ...(input.callerTools?.length && { caller_tools: input.callerTools }),
      };
      try {
        begun = await this.begin(caller, agent, latest.version, input, context, options, parts);
      } catch (err) {
        if (!(err instanceof AgentChanged)) throw err;
        if (attempt > 0) throw new AppError('conflict', `agent ${agentId} is being changed; try again`);
        latest = await this.agents.get(caller.tenantId, agentId, true);
        if (!canSee(caller.viewer, latest)) throw notFound('agent', agentId);
        agent = await this.pinned(latest, pin);
      }
    }
    const { runId } = begun;
    for (const id of begun.interrupted) this.abortEverywhere(id);
    this.announcer.add(runId);
    let live: LiveRun | undefined;
    if (begun.status === 'running') {
      live = this.launch(caller, agent, {
        runId: begun.runId,
        sessionId: begun.sessionId,
        context,
        options: options!,
        startedAt: Date.now(),
        modelCalls: 0,
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
        // Read by the statement that started the run: no need to read it back.
        history: begun.history,
        lastSeq: begun.events.at(-1)?.seq ?? 0,
      });
    }
    return {
      sessionId: begun.sessionId,
      runId: begun.runId,
      status: begun.status,
      events: begun.events,
      result: () => live?.done ?? this.wait(caller.tenantId, runId),
    };
  }

  /**
   * The caller's tools join the agent's own in the loop that runs here: a name the agent has
   * already, or two of the caller's with one name, is a 400 naming it; an agent that runs elsewhere
   * (remote, a pool, a team) has no loop to offer them in.
   */
  private async admitCallerTools(tenantId: string, agent: Agent, input: StartInput): Promise<void> {
    if (input.multiAgent || (agent.env !== 'in_process' && agent.env !== 'cloud_shared')) {
      throw new AppError(
        'bad_request',
        `tools: agent ${agent.name} runs outside this server's loop (env ${agent.env}) and takes no tools of the caller's`,
      );
    }
    const own = new Set((await this.deps.tools.specsFor(tenantId, agent.tools)).map((t) => t.function.name));
    const seen = new Set<string>();
    for (const t of input.callerTools ?? []) {
      const name = t.function.name;
      if (own.has(name)) {
        throw new AppError(
          'bad_request',
          `tools: ${name} is also a tool of agent ${agent.name}; give the caller's tool another name`,
          { details: { param: 'tools', tool: name } },
        );
      }
      if (seen.has(name))
        throw new AppError('bad_request', `tools: ${name} is sent twice`, {
          details: { param: 'tools', tool: name },
        });
      seen.add(name);
    }
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
  async supplyToolResults(
    caller: RunCaller,
    runId: string,
    results: ReadonlyMap<string, string>,
  ): Promise<RunHandle> {
    if (this.stopping) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
    const waiting = await this.store.get(caller.tenantId, runId);
    const callerNames = new Set((waiting.options.caller_tools ?? []).map((t) => t.function.name));
    const pending = waiting.pending ?? [];
    const missing = pending.find((c) => callerNames.has(c.function.name) && !results.has(c.id));
    if (missing) {
      throw new AppError(
        'bad_request',
        `messages: run ${runId} waits on the result of tool call ${missing.id} (${missing.function.name}); send a tool message for it`,
        { details: { run_id: runId, tool_call_id: missing.id } },
      );
    }
    if (!pending.some((c) => callerNames.has(c.function.name))) {
      throw new AppError('conflict', `run ${runId} waits for a person's approval, not for tool results`, {
        details: { run_id: runId },
      });
    }
    const agent = await this.agentBeforeResume(caller, runId);
    const row = await this.store.resume(caller.tenantId, runId, this.owner, this.deps.config.lease_seconds);
    if (agent instanceof AppError) {
      await this.failStarted(row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
      throw agent;
    }
    const supplied = new Map(pending.filter((c) => results.has(c.id)).map((c) => [c.id, results.get(c.id)!]));
    // Followers see where the run carries on: what came before was the answer the caller has.
    const written = await this.store.advance({
      runId,
      owner: this.owner,
      events: [event('tool_results', { tool_calls: [...supplied.keys()] })],
    });
    if (!written) throw new AppError('conflict', `run ${runId} was ended meanwhile`);
    this.announcer.add(runId);
    const live = this.launch(caller, agent, {
      ...continued(row),
      resume: { toolCalls: pending, approved: true, supplied, pausedAt: row.paused_at },
      lastSeq: written.events.at(-1)?.seq ?? -1,
    });
    return {
      sessionId: row.session_id,
      runId,
      status: 'running',
      events: written.events,
      // The tokens of this stretch only: the caller was told the earlier ones with the tool calls.
      result: () => live.done.then((r) => ({ ...r, usage: usageSince(r.usage, row.usage) })),
    };
  }

  /**
   * A run that waits only on its caller's tool results has nothing for a person to approve: 409
   * (its caller's next request resumes it, or it expires).
   */
  private async refuseCallerWait(tenantId: string, runId: string, agent: Agent): Promise<void> {
    const row = await this.store.get(tenantId, runId);
    const callerNames = new Set((row.options.caller_tools ?? []).map((t) => t.function.name));
    if (callerNames.size === 0 || row.status !== 'input_required') return;
    const approvable = (row.pending ?? []).some(
      (c) =>
        agent.mode === 'COLLABORATIVE' && this.deps.tools.get(c.function.name)?.requires_approval === true,
    );
    if (!approvable) {
      throw new AppError(
        'conflict',
        `run ${runId} waits on its caller's tool results, not on an approval: the caller's next request with them resumes it`,
        { details: { status: row.status } },
      );
    }
  }

  /** Cancels (code `expired`) the runs whose caller sent no tool results within the setting. */
  private async expireCallerWaits(): Promise<void> {
    if (this.stopping) return;
    const seconds = this.deps.config.caller_tool_wait_seconds;
    for (const run of await this.store.callerWaitsPast(seconds)) {
      const message = `the caller sent no tool results within runtime.caller_tool_wait_seconds (${seconds} s)`;
      if (!(await this.store.expire(run.id, message))) continue;
      this.announcer.add(run.id);
      const row = await this.store.get(run.tenant_id, run.id);
      this.startQueued(row.session_id);
    }
  }

  /**
   * The agent as at `version` over its latest row (identity and visibility stay the latest's):
   * versions never change, so each is read once per process.
   */
  private async pinned(latest: Agent, version: number | undefined): Promise<Agent> {
    if (version === undefined || version === latest.version) return latest;
    const key = `${latest.tenant_id}:${latest.id}@${version}`;
    let config = this.versions.get(key);
    if (!config) {
      config = await this.deps.agents.at(latest.tenant_id, latest.id, version);
      if (this.versions.size >= 1000) this.versions.delete(this.versions.keys().next().value!);
      this.versions.set(key, config);
    }
    return agentAtVersion(latest, { version, config });
  }

  /** The agent a recorded run runs: the version it recorded (a run from before versions: the latest). */
  private async agentOfRun(row: Pick<RunRow, 'tenant_id' | 'agent_id' | 'agent_version'>): Promise<Agent> {
    const latest = await this.deps.agents.get(row.tenant_id, row.agent_id);
    return this.pinned(latest, row.agent_version ?? undefined);
  }

  /**
   * Reads a waiting run's agent before the run is taken to resume it: a store that fails this read
   * leaves the run waiting, and the caller's retry finds it so. An agent that is gone comes back as
   * its not_found error: the run is taken and fails as `agent_gone`.
   */
  private async agentBeforeResume(caller: RunCaller, runId: string): Promise<Agent | AppError> {
    return this.agentOfRun(await this.store.get(caller.tenantId, runId)).catch((err: unknown) => {
      if (isNotFound(err)) return err;
      throw err;
    });
  }

  private begin(
    caller: RunCaller,
    agent: Agent,
    latestVersion: number,
    input: StartInput,
    context: Record<string, unknown>,
    options: RunOptions,
    parts: ContentPart[] | undefined,
  ): Promise<Begun> {
    return this.store.begin({
      tenantId: caller.tenantId,
      agentId: agent.id,
      agentVersion: latestVersion,
      runsVersion: agent.version,
      sessionId: input.session_id,
      input: input.message,
      ...(parts && { parts }),
      context,
      options,
      multitask: input.multitask,
      taskId: input.taskId,
      owner: this.owner,
      viewer: caller.viewer,
      sessionOwner: caller.viewer?.userId,
      leaseSeconds: this.deps.config.lease_seconds,
      events: ({ sessionId, runId, status }) => [
        event('session_start', { session_id: sessionId, run_id: runId, agent_id: agent.id, status }),
        ...(status === 'running' ? [systemEvent(agent, this.deps.tools)] : []),
      ],
    });
  }

  /**
   * Forks a run (runs/fork.ts): a new run in a new session, from a recorded step of `runId` with
   * the conversation before it and the changes asked for, at the agent version the run ran unless
   * another is asked for, linked to its parent. Started here; follow it at /v1/runs/:id/stream.
   */
  async fork(caller: RunCaller, runId: string, input: ForkInput): Promise<RunRow> {
    if (this.stopping) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
    const parent = await this.store.get(caller.tenantId, runId);
    const start = await forkStart(this.deps.db, parent, await this.store.steps(runId), input);
    const latest = await this.deps.agents.get(caller.tenantId, parent.agent_id);
    if (!canSee(caller.viewer, latest)) throw notFound('agent', parent.agent_id);
    const version = input.agent_version ?? parent.agent_version ?? undefined;
    const agent = await this.pinned(latest, version);
    const { idempotency_key: _key, trace_id: _trace, held_sandbox: _held, ...kept } = parent.options;
    const options: RunOptions = {
      ...kept,
      streaming: false,
      ...(caller.traceId && { trace_id: caller.traceId }),
      ...(version !== undefined && { pinned: true }),
      ...(input.model && { model: input.model }),
    };
    const begun = await beginFork(this.deps.db, {
      tenantId: caller.tenantId,
      parent,
      step: input.step,
      start,
      agentVersion: agent.version,
      options,
      owner: this.owner,
      sessionOwner: caller.viewer?.userId,
      leaseSeconds: this.deps.config.lease_seconds,
      events: ({ sessionId, runId: id }) => [
        event('session_start', { session_id: sessionId, run_id: id, agent_id: agent.id, status: 'running' }),
        systemEvent(input.model ? { ...agent, model: input.model } : agent, this.deps.tools),
      ],
    });
    this.announcer.add(begun.runId);
    this.launch(caller, agent, {
      runId: begun.runId,
      sessionId: begun.sessionId,
      context: parent.context,
      options,
      startedAt: Date.now(),
      modelCalls: 0,
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      history: begun.history,
      lastSeq: begun.events.at(-1)?.seq ?? 0,
    });
    return this.store.get(caller.tenantId, begun.runId);
  }

  /** Approves (or denies, with a reason the model sees) the tool calls a run waits on, and resumes it. */
  async decide(caller: RunCaller, runId: string, approved: boolean, reason?: string): Promise<Run> {
    if (this.stopping) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
    const agent = await this.agentBeforeResume(caller, runId);
    if (!(agent instanceof AppError)) await this.refuseCallerWait(caller.tenantId, runId, agent);
    const row = await this.store.resume(caller.tenantId, runId, this.owner, this.deps.config.lease_seconds);
    if (agent instanceof AppError) {
      await this.failStarted(row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
      throw agent;
    }
    this.launch(caller, agent, {
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
  async resumeInterrupted(caller: RunCaller, runId: string): Promise<Run> {
    if (this.stopping) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
    const agent = await this.agentBeforeResume(caller, runId);
    const row = await this.store.resume(
      caller.tenantId,
      runId,
      this.owner,
      this.deps.config.lease_seconds,
      'interrupted',
    );
    // One that is gone is read again there, and the run fails as agent_gone.
    await this.carryOn(row, {
      rerun: true,
      by: 'resume',
      caller,
      agent: agent instanceof AppError ? undefined : agent,
    });
    return runSchema.parse(toRun({ ...row, status: 'running', pending: null }));
  }

  /** Cancels a queued, running or waiting run. 409 when it has already ended. */
  async cancel(tenantId: string, runId: string, reason = 'cancelled by the client'): Promise<void> {
    const written = await this.store.cancel(tenantId, runId, reason);
    if (!written) {
      const run = await this.store.get(tenantId, runId);
      throw new AppError('conflict', `run ${runId} has already ended (${run.status})`);
    }
    this.announcer.add(runId);
    this.abortEverywhere(runId);
    const run = await this.store.get(tenantId, runId);
    this.startQueued(run.session_id);
  }

  /** The run's events after `afterSeq`, live, until its stream ends or `signal` aborts. */
  follow(runId: string, afterSeq: number, signal: StopSignal): AsyncGenerator<RunEvent> {
    const live = this.live.get(runId);
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
      result: () => this.live.get(row.id)?.done ?? this.wait(tenantId, row.id, { untilPause: true }),
    };
  }

  private abortEverywhere(runId: string): void {
    const local = this.live.get(runId);
    if (local) local.controller.abort(new RunAborted('cancelled', 'the run was cancelled'));
    else
      this.deps.bus
        .publish(CANCEL_TOPIC, runId)
        .catch((err) => this.deps.log.warn({ err }, 'cancel broadcast failed'));
  }

  private launch(
    caller: RunCaller,
    agent: Agent,
    r: Omit<RunSpec, 'agent' | 'tenantId' | 'call' | 'workspace' | 'signal' | 'writer' | 'drain'> & {
      lastSeq: number;
    },
  ): LiveRun {
    // A fork may run its agent on another model, on every execution of the run.
    if (r.options.model) agent = { ...agent, model: r.options.model };
    const controller = new AbortController();
    const writer = new RunEventWriter(this.deps.db, this.announcer, caller.tenantId, r.runId, this.owner);
    writer.lastSeq = r.lastSeq;
    const live: LiveRun = { controller, writer, done: undefined as unknown as Promise<RunResult> };
    this.live.set(r.runId, live);
    const execute = executorFor(agent, r.options, this.deps.executors);
    const traceId = caller.traceId ?? r.options.trace_id;
    const span = startRunSpan(
      {
        runId: r.runId,
        sessionId: r.sessionId,
        agentId: agent.id,
        agentName: agent.name,
        model: agent.model,
      },
      traceId ? { traceId, spanId: caller.parentSpanId, traceState: caller.traceState } : undefined,
    );
    if (r.resume?.pausedAt) recordApprovalWait(r.resume, r.runId, agent.name, span.parent);
    live.done = span
      .within(() =>
        execute(
          {
            store: this.store,
            models: this.deps.models,
            tools: this.deps.tools,
            log: this.deps.log,
            owner: this.owner,
            // After this run has left `live` (next tick): the next one may start here at once.
            onQueued: (sessionId) => setImmediate(() => this.startQueued(sessionId)),
            memory: this.deps.memory,
            metrics: this.deps.metrics,
            recordEachStep: this.deps.config.record_each_step,
          },
          {
            ...r,
            agent,
            tenantId: caller.tenantId,
            call: {
              tenantId: caller.tenantId,
              tenantName: caller.tenantName,
              agentId: agent.id,
              agentName: agent.name,
              keyId: caller.keyId,
              requestId: caller.requestId,
              traceId: span.parent?.traceId,
              parentSpanId: span.parent?.spanId,
              traceState: span.parent?.traceState,
            },
            workspace: this.workspace(caller.tenantId, r.sessionId),
            signal: controller.signal,
            drain: this.draining.signal,
            writer,
          },
        ),
      )
      .then(
        (result) => {
          if (result.status === 'failed' && result.error.code === 'released') {
            this.deps.bus
              .publish(RELEASED_TOPIC, r.runId)
              .catch((err) => this.deps.log.warn({ err }, 'release broadcast failed'));
          }
          span.end(result);
          this.deps.metrics?.run(agent.name, result.status, (Date.now() - r.startedAt) / 1000);
          this.deps.onRunEnd?.({
            tenantId: caller.tenantId,
            tenantName: caller.tenantName,
            agentId: agent.id,
            runId: r.runId,
            input: r.history?.findLast((m) => m.role === 'user')?.content ?? '',
            result,
            durationMs: Date.now() - r.startedAt,
            idempotencyKey: r.options.idempotency_key,
          });
          return result;
        },
        (err) => {
          span.end(undefined, err);
          this.deps.metrics?.run(agent.name, 'error', (Date.now() - r.startedAt) / 1000);
          throw err;
        },
      )
      .finally(() => {
        this.live.delete(r.runId);
        writer.end();
      });
    return live;
  }

  /** The directory file tools may use in a session. */
  workspace(tenantId: string, sessionId: string): Workspace {
    return new Workspace(path.resolve(this.deps.config.workspaces_dir, tenantId, sessionId));
  }

  /** Starts the next queued run of a session, if it is free (here; any process may win the claim). */
  private startQueued(sessionId: string): void {
    if (this.stopping) return;
    void (async () => {
      const row = await this.store.claimQueued(sessionId, this.owner, this.deps.config.lease_seconds);
      if (!row) return;
      const agent = await this.agentOfRun(row).catch(unlessNotFound);
      const tenantName = await this.deps.tenantName(row.tenant_id);
      const caller: RunCaller = { tenantId: row.tenant_id, tenantName };
      if (!agent) {
        await this.failStarted(row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
        return;
      }
      const written = await this.store.advance({
        runId: row.id,
        owner: this.owner,
        events: [systemEvent(agent, this.deps.tools)],
      });
      const system = written?.events[0];
      this.announcer.add(row.id);
      this.launch(caller, agent, {
        runId: row.id,
        sessionId,
        context: row.context,
        options: row.options,
        startedAt: Date.now(),
        modelCalls: 0,
        usage: row.usage,
        lastSeq: system?.seq ?? 0,
      });
    })().catch((err) =>
      this.deps.log.warn({ err: toError(err), session_id: sessionId }, 'starting a queued run failed'),
    );
  }

  /** Fails a run this process just took (resumed or dequeued) before it could execute. */
  private async failStarted(row: RunRow, code: string, message: string): Promise<void> {
    const written = await this.store.advance({
      runId: row.id,
      owner: this.owner,
      status: 'failed',
      error: { code, message },
      events: [event('error', { code, message }), event('session_end', { status: 'failed' })],
    });
    this.announcer.add(row.id);
    if (written?.queued) this.startQueued(row.session_id);
  }

  /**
   * Takes over the runs whose executor is gone (all running ones at the start of an embedded store,
   * else those whose lease expired or was released) and carries each on from its last recorded
   * step; then starts the queued runs nothing holds up.
   */
  private async sweep(all: boolean): Promise<void> {
    if (this.stopping) return;
    const taken = await this.store.takeOver(all, this.owner, this.deps.config.lease_seconds);
    if (taken.length > 0) this.deps.log.info({ runs: taken.map((r) => r.id) }, 'took over runs');
    for (const row of taken) {
      await this.carryOnTaken(row).catch((err) =>
        this.deps.log.warn({ err: toError(err), run_id: row.id }, 'carrying a run on failed'),
      );
    }
    for (const sessionId of await this.store.sessionsWithQueued()) this.startQueued(sessionId);
  }

  /**
   * A poison pill: a run whose executors keep dying or blocking (a tool or an input that brings the
   * process down or holds its event loop, so it stops renewing the lease) is not handed from one
   * process to the next for ever. Taken over `runtime.max_takeovers` times in a row without
   * recording a step, it fails as `poisoned` at the next takeover. Drains do not count.
   */
  private carryOnTaken(row: TakenOver): Promise<void> {
    const max = this.deps.config.max_takeovers;
    if (!row.released && row.takeovers >= max) {
      this.deps.metrics?.poisoned();
      this.deps.log.warn({ run_id: row.id, takeovers: row.takeovers }, 'run failed as poisoned');
      return this.failStarted(
        row,
        'poisoned',
        `the run was taken over ${row.takeovers} times without recording a step (its processes died or ` +
          `stopped answering); it is not taken over again (runtime.max_takeovers: ${max})`,
      );
    }
    // Still executing here (this process stalled past its own lease): the lease is ours again.
    if (this.live.has(row.id)) return Promise.resolve();
    return this.carryOn(row, { rerun: false, by: 'takeover', after: row.released ? 'release' : 'crash' });
  }

  /** Executes a run this process has just leased (taken over or resumed) from its last recorded step. */
  private async carryOn(
    row: RunRow,
    options: {
      rerun: boolean;
      by: 'takeover' | 'resume';
      after?: 'release' | 'crash';
      caller?: RunCaller;
      /** The run's agent, when the caller has read it already. */
      agent?: Agent;
    },
  ): Promise<void> {
    const agent = options.agent ?? (await this.agentOfRun(row).catch(unlessNotFound));
    if (!agent) return this.failStarted(row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
    const caller = options.caller ?? {
      tenantId: row.tenant_id,
      tenantName: await this.deps.tenantName(row.tenant_id),
    };
    // Tells followers where the run carries on: text deltas since the last recorded model answer
    // belonged to a call that was never answered, and the model is asked again.
    const written = await this.store.advance({
      runId: row.id,
      owner: this.owner,
      events: [
        event('run_resumed', {
          by: options.by,
          ...(options.after && { after: options.after }),
          model_calls: row.model_calls,
          steps: row.step_count,
        }),
      ],
    });
    if (!written) return;
    this.announcer.add(row.id);
    this.launch(caller, agent, {
      ...continued(row),
      takeover: { rerun: options.rerun },
      lastSeq: written.events.at(-1)?.seq ?? -1,
    });
  }
}

function usageSince(total: Usage, before: Usage): Usage {
  const prompt = Math.max(0, total.prompt_tokens - before.prompt_tokens);
  const completion = Math.max(0, total.completion_tokens - before.completion_tokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** What a run that carries on (approved, resumed or taken over) keeps from its row. */
function continued(row: RunRow) {
  return {
    runId: row.id,
    sessionId: row.session_id,
    context: row.context,
    options: row.options,
    startedAt: (row.started_at ?? row.created_at).getTime(),
    modelCalls: row.model_calls,
    usage: row.usage,
  };
}
