import type { Agent } from '../agents/schema.ts';
import { canSee } from '../auth/ownership.ts';
import { AppError, notFound } from '../errors.ts';
import type { ContentPart } from '../models/types.ts';
import { messageParts } from './attachments.ts';
import { admitCallerTools } from './caller-tools.ts';
import type { Host, LiveRun } from './host.ts';
import { abortEverywhere, launch } from './launch.ts';
import { routeByEnv } from './routing.ts';
import { pinned } from './run-agent.ts';
import { event } from './runs/events.ts';
import { beginFork, forkStart } from './runs/fork.ts';
import { systemEvent } from './runs/outcome.ts';
import type { RunOptions, RunRow } from './runs/rows.ts';
import { AgentChanged, type Begun } from './runs/store.ts';
import type { ForkInput } from './schema.ts';
import type { RunCaller, RunHandle, RunResult, StartInput } from './types.ts';

/** Starting runs: a turn on a message (a new session, or the given one by its multitask rule), or a fork. */

/** Starts a run of `agentId` on a message: a new session, or the given one by its multitask rule. */
export async function startRun(
  host: Host,
  caller: RunCaller,
  agentId: string,
  input: StartInput,
  /** Follows a run this process does not execute to its end. */
  wait: (runId: string) => Promise<RunResult>,
): Promise<RunHandle> {
  if (host.stopping()) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
  const parts = messageParts(input.message, input.attachments, host.deps.config.max_attachment_bytes);
  const pin = input.agent_version;
  let latest = await host.agents.get(caller.tenantId, agentId);
  if (!canSee(caller.viewer, latest)) throw notFound('agent', agentId);
  let agent = await pinned(host, latest, pin);
  await host.deps.admit?.(caller.tenantId, agent);
  if (input.callerTools?.length) await admitCallerTools(host, caller.tenantId, agent, input);
  let begun: Begun | undefined;
  let options: RunOptions | undefined;
  const context = input.context ?? {};
  // A remembered agent that changed meanwhile (here or in another process) is read again, once.
  for (let attempt = 0; !begun; attempt++) {
    const multiAgent = input.multiAgent ?? routeByEnv(agent, host.deps.executors ?? {});
    options = {
      streaming: input.stream,
      max_steps: input.max_steps ?? host.deps.config.max_steps,
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
      begun = await begin(host, caller, agent, latest.version, input, context, options, parts);
    } catch (err) {
      if (!(err instanceof AgentChanged)) throw err;
      if (attempt > 0) throw new AppError('conflict', `agent ${agentId} is being changed; try again`);
      latest = await host.agents.get(caller.tenantId, agentId, true);
      if (!canSee(caller.viewer, latest)) throw notFound('agent', agentId);
      agent = await pinned(host, latest, pin);
    }
  }
  const { runId } = begun;
  for (const id of begun.interrupted) abortEverywhere(host, id);
  host.announcer.add(runId);
  let live: LiveRun | undefined;
  if (begun.status === 'running') {
    live = launch(host, caller, agent, {
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
    result: () => live?.done ?? wait(runId),
  };
}

function begin(
  host: Host,
  caller: RunCaller,
  agent: Agent,
  latestVersion: number,
  input: StartInput,
  context: Record<string, unknown>,
  options: RunOptions,
  parts: ContentPart[] | undefined,
): Promise<Begun> {
  return host.store.begin({
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
    owner: host.owner,
    viewer: caller.viewer,
    sessionOwner: caller.viewer?.userId,
    leaseSeconds: host.deps.config.lease_seconds,
    events: ({ sessionId, runId, status }) => [
      event('session_start', { session_id: sessionId, run_id: runId, agent_id: agent.id, status }),
      ...(status === 'running' ? [systemEvent(agent, host.deps.tools)] : []),
    ],
  });
}

/**
 * Forks a run (runs/fork.ts): a new run in a new session, from a recorded step of `runId` with
 * the conversation before it and the changes asked for, at the agent version the run ran unless
 * another is asked for, linked to its parent. Started here; follow it at /v1/runs/:id/stream.
 */
export async function startFork(
  host: Host,
  caller: RunCaller,
  runId: string,
  input: ForkInput,
): Promise<RunRow> {
  if (host.stopping()) throw new AppError('unavailable', 'the server is shutting down', { retryAfter: 1 });
  const parent = await host.store.get(caller.tenantId, runId);
  const start = await forkStart(host.deps.db, parent, await host.store.steps(runId), input);
  const latest = await host.deps.agents.get(caller.tenantId, parent.agent_id);
  if (!canSee(caller.viewer, latest)) throw notFound('agent', parent.agent_id);
  const version = input.agent_version ?? parent.agent_version ?? undefined;
  const agent = await pinned(host, latest, version);
  const { idempotency_key: _key, trace_id: _trace, held_sandbox: _held, ...kept } = parent.options;
  const options: RunOptions = {
    ...kept,
    streaming: false,
    ...(caller.traceId && { trace_id: caller.traceId }),
    ...(version !== undefined && { pinned: true }),
    ...(input.model && { model: input.model }),
  };
  const begun = await beginFork(host.deps.db, {
    tenantId: caller.tenantId,
    parent,
    step: input.step,
    start,
    agentVersion: agent.version,
    options,
    owner: host.owner,
    sessionOwner: caller.viewer?.userId,
    leaseSeconds: host.deps.config.lease_seconds,
    events: ({ sessionId, runId: id }) => [
      event('session_start', { session_id: sessionId, run_id: id, agent_id: agent.id, status: 'running' }),
      systemEvent(input.model ? { ...agent, model: input.model } : agent, host.deps.tools),
    ],
  });
  host.announcer.add(begun.runId);
  launch(host, caller, agent, {
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
  return host.store.get(caller.tenantId, begun.runId);
}
