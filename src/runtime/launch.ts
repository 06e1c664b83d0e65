import path from 'node:path';
import type { Agent } from '../agents/schema.ts';
import { toError, unlessNotFound } from '../errors.ts';
import type { SpanParent } from '../observability/spans.ts';
import { Workspace } from '../tools/workspace.ts';
import type { Host, LiveRun } from './host.ts';
import { executorFor } from './routing.ts';
import { agentOfRun } from './run-agent.ts';
import { event, RunEventWriter } from './runs/events.ts';
import { systemEvent } from './runs/outcome.ts';
import type { RunRow } from './runs/rows.ts';
import { recordApprovalWait, startRunSpan } from './trace/run-span.ts';
import type { ExecuteDeps, RunCaller, RuntimeDeps } from './types.ts';
import { RunAborted, type RunResult, type RunSpec } from './types.ts';

/**
 * Executing runs in this process: a run begun, resumed or taken over; the next queued run of a
 * session; and failing one taken that cannot execute. Each is followed through its writer.
 */

/** Bus topic asking every process to stop a run it is executing (its state is already `cancelled`). */
export const CANCEL_TOPIC = 'agentry_run_cancel';
/** Bus topic telling every process that a draining one released a run: take it over now. */
export const RELEASED_TOPIC = 'agentry_run_released';

/** What `launch` is given of a run: its spec, but for what the launch itself makes. */
type Launched = Omit<RunSpec, 'agent' | 'tenantId' | 'call' | 'workspace' | 'signal' | 'writer' | 'drain'> & {
  lastSeq: number;
};

/**
 * Executes a run here: it is registered as live (so a cancel or a follower finds it), traced, handed
 * to its agent's executor, and its end told to whoever listens.
 */
export function launch(host: Host, caller: RunCaller, agent: Agent, r: Launched): LiveRun {
  // A fork may run its agent on another model, on every execution of the run.
  if (r.options.model) agent = { ...agent, model: r.options.model };
  const controller = new AbortController();
  const writer = new RunEventWriter(host.deps.db, host.announcer, caller.tenantId, r.runId, host.owner);
  writer.lastSeq = r.lastSeq;
  const live: LiveRun = { controller, writer, done: undefined as unknown as Promise<RunResult> };
  host.live.set(r.runId, live);
  const execute = executorFor(agent, r.options, host.deps.executors);
  const traceId = caller.traceId ?? r.options.trace_id;
  const span = startRunSpan(
    { runId: r.runId, sessionId: r.sessionId, agentId: agent.id, agentName: agent.name, model: agent.model },
    traceId ? { traceId, spanId: caller.parentSpanId, traceState: caller.traceState } : undefined,
  );
  if (r.resume?.pausedAt) recordApprovalWait(r.resume, r.runId, agent.name, span.parent);
  const spec: RunSpec = {
    ...r,
    agent,
    tenantId: caller.tenantId,
    call: callOf(caller, agent, span.parent),
    workspace: workspace(host.deps.config, caller.tenantId, r.sessionId),
    signal: controller.signal,
    drain: host.draining,
    writer,
  };
  live.done = span
    .within(() => execute(executeDeps(host), spec))
    .then(
      (result) => ended(host, { caller, agent, r, span }, result),
      (err) => {
        span.end(undefined, err);
        host.deps.metrics?.run(agent.name, 'error', (Date.now() - r.startedAt) / 1000);
        throw err;
      },
    )
    .finally(() => {
      host.live.delete(r.runId);
      writer.end();
    });
  return live;
}

/** What every executor is given from this process. */
function executeDeps(host: Host): ExecuteDeps {
  return {
    store: host.store,
    models: host.deps.models,
    tools: host.deps.tools,
    log: host.deps.log,
    owner: host.owner,
    // After this run has left `live` (next tick): the next one may start here at once.
    onQueued: (sessionId) => setImmediate(() => startQueued(host, sessionId)),
    memory: host.deps.memory,
    metrics: host.deps.metrics,
    recordEachStep: host.deps.config.record_each_step,
  };
}

/** The run's calls (models, tools, remote runtimes) as made for its caller, under the run's span. */
function callOf(caller: RunCaller, agent: Agent, parent: SpanParent | undefined): RunSpec['call'] {
  return {
    tenantId: caller.tenantId,
    tenantName: caller.tenantName,
    agentId: agent.id,
    agentName: agent.name,
    keyId: caller.keyId,
    requestId: caller.requestId,
    traceId: parent?.traceId,
    parentSpanId: parent?.spanId,
    traceState: parent?.traceState,
  };
}

type RunSpan = ReturnType<typeof startRunSpan>;

/**
 * A run's end, told: a run released by this draining process to every other (one takes it over
 * now), then its span, the metrics and `onRunEnd` (live evaluators).
 */
function ended(
  host: Host,
  { caller, agent, r, span }: { caller: RunCaller; agent: Agent; r: Launched; span: RunSpan },
  result: RunResult,
): RunResult {
  if (result.status === 'failed' && result.error.code === 'released') {
    host.deps.bus
      .publish(RELEASED_TOPIC, r.runId)
      .catch((err) => host.deps.log.warn({ err }, 'release broadcast failed'));
  }
  span.end(result);
  host.deps.metrics?.run(agent.name, result.status, (Date.now() - r.startedAt) / 1000);
  host.deps.onRunEnd?.({
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
}

/** The directory file tools may use in a session. */
export function workspace(config: RuntimeDeps['config'], tenantId: string, sessionId: string): Workspace {
  return new Workspace(path.resolve(config.workspaces_dir, tenantId, sessionId));
}

export function abortEverywhere(host: Host, runId: string): void {
  const local = host.live.get(runId);
  if (local) local.controller.abort(new RunAborted('cancelled', 'the run was cancelled'));
  else
    host.deps.bus
      .publish(CANCEL_TOPIC, runId)
      .catch((err) => host.deps.log.warn({ err }, 'cancel broadcast failed'));
}

/** Starts the next queued run of a session, if it is free (here; any process may win the claim). */
export function startQueued(host: Host, sessionId: string): void {
  if (host.stopping()) return;
  void (async () => {
    const row = await host.store.claimQueued(sessionId, host.owner, host.deps.config.lease_seconds);
    if (!row) return;
    const agent = await agentOfRun(host, row).catch(unlessNotFound);
    const tenantName = await host.deps.tenantName(row.tenant_id);
    const caller: RunCaller = { tenantId: row.tenant_id, tenantName };
    if (!agent) {
      await failStarted(host, row, 'agent_gone', `agent ${row.agent_id} no longer exists`);
      return;
    }
    const written = await host.store.advance({
      runId: row.id,
      owner: host.owner,
      events: [systemEvent(agent, host.deps.tools)],
    });
    const system = written?.events[0];
    host.announcer.add(row.id);
    launch(host, caller, agent, {
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
    host.deps.log.warn({ err: toError(err), session_id: sessionId }, 'starting a queued run failed'),
  );
}

/** Fails a run this process just took (resumed or dequeued) before it could execute. */
export async function failStarted(host: Host, row: RunRow, code: string, message: string): Promise<void> {
  const written = await host.store.advance({
    runId: row.id,
    owner: host.owner,
    status: 'failed',
    error: { code, message },
    events: [event('error', { code, message }), event('session_end', { status: 'failed' })],
  });
  host.announcer.add(row.id);
  if (written?.queued) startQueued(host, row.session_id);
}

/** What a run that carries on (approved, resumed or taken over) keeps from its row. */
export function continued(row: RunRow) {
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
