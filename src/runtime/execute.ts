import type { Agent } from '../agents/schema.ts';
import { AppError } from '../errors.ts';
import type { CallContext, ChatMessage, ModelGateway, ToolCall, Usage } from '../models/types.ts';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { SpanParent } from '../observability/spans.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Workspace } from '../tools/workspace.ts';
import { type ContextRecord, defaultContextSettings, LoopMemory, lastUserText } from './context.ts';
import { LoopError, type Resume, type Round, RunDrained, runLoop } from './loop.ts';
import { repairHistory } from './prompt.ts';
import { interruptedMessage, recoverRound } from './recovery.ts';
import { addUsage, type RunOptions, runIdempotencyKey, toRecord } from './rows.ts';
import { event, type PendingEvent, type RunEventWriter } from './run-events.ts';
import type { Advance, RunStore } from './run-store.ts';
import type { ToolCallRecord } from './schema.ts';

/** Why a run's signal aborted. */
export class RunAborted extends Error {
  constructor(
    readonly kind: 'cancelled' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'RunAborted';
  }
}

/** How a run ended (or paused), for non-streaming answers and the task handler. */
export type RunResult =
  | {
      status: 'completed';
      text: string;
      model: string;
      finishReason: string;
      toolCalls: ToolCallRecord[];
      usage: Usage;
    }
  | { status: 'input_required'; pending: ToolCallRecord[]; toolCalls: ToolCallRecord[]; usage: Usage }
  | {
      status: 'failed' | 'cancelled';
      error: { code: string; message: string };
      cause?: unknown;
      usage: Usage;
    };

export interface ExecuteDeps {
  store: RunStore;
  models: ModelGateway;
  tools: ToolRegistry;
  log: Logger;
  owner: string;
  /** The run ended and others wait behind it in its session. */
  onQueued(sessionId: string): void;
  /** Context assembly and playbooks; absent: no knowledge, history within the default budget. */
  memory?: LoopMemory;
  metrics?: AgentMetrics;
  /** `runtime.record_each_step` (loop.ts `recordEachStep`). */
  recordEachStep?: boolean;
}

/** For deps built without memory (tests, tools): history budget only, no knowledge look-ups. */
let bare: LoopMemory | undefined;
export function memoryOf(deps: Pick<ExecuteDeps, 'memory' | 'log'>): LoopMemory {
  if (deps.memory) return deps.memory;
  bare ??= LoopMemory.historyOnly(defaultContextSettings, deps.log);
  return bare;
}

/** One run to execute now: it is `running` and leased to this process. */
export interface RunSpec {
  runId: string;
  tenantId: string;
  sessionId: string;
  agent: Agent;
  context: Record<string, unknown>;
  options: RunOptions;
  /** When the run started (ms since the epoch), for `duration_ms`. */
  startedAt: number;
  /** Counters before this execution (a resumed run carries on from them). */
  modelCalls: number;
  usage: Usage;
  /** The conversation, when the caller already has it (a new session: just the user's message). */
  history?: ChatMessage[];
  resume?: { toolCalls: ToolCall[]; approved: boolean; reason?: string; pausedAt?: Date };
  /**
   * This process took the run over (its executor died or drained, or a person resumed it after an
   * interruption, `rerun`): it carries on from the last recorded step (recovery.ts).
   */
  takeover?: { rerun: boolean };
  /** When aborted, the run stops at its next step boundary and gives up its lease (graceful shutdown). */
  drain?: AbortSignal;
  call: Omit<CallContext, 'signal'>;
  workspace: Workspace;
  signal: AbortSignal;
  writer: RunEventWriter;
}

/**
 * Executes a run with the agent loop and persists how it ends: `completed` with its answer,
 * `input_required` with the calls that wait, or `failed` with a code (`max_steps`, a model error's
 * code, `shutdown`). A run cancelled meanwhile was already ended by whoever cancelled it.
 */
export async function executeRun(deps: ExecuteDeps, run: RunSpec): Promise<RunResult> {
  const { writer, agent } = run;
  const total = (u: Usage) => addUsage(run.usage, u);
  const terminal = (status: string, extra: PendingEvent[] = []): PendingEvent[] => [
    ...extra,
    event('session_end', { status }),
  ];
  const finish = async (a: Step, extra: PendingEvent[] = [], afterFailure = false) => {
    const written = await recordStep(deps, run, a, extra, afterFailure);
    if (!written) return false;
    if (a.status && a.status !== 'input_required' && written.queued) deps.onQueued(run.sessionId);
    return true;
  };
  let usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let record: ContextRecord | undefined;
  try {
    const stored = run.history ?? (await deps.store.history(run.sessionId));
    const collaborative = agent.mode === 'COLLABORATIVE';
    const needsApproval = (tool: string) => collaborative && deps.tools.get(tool)?.requires_approval === true;
    let resume: Resume | undefined = run.resume;
    if (run.takeover) {
      const recovered = await recoverRound(deps.store, run.runId, stored, {
        // A call that needed approval is not run again without a person either.
        idempotent: (tool) => deps.tools.get(tool)?.idempotent === true && !needsApproval(tool),
        rerun: run.takeover.rerun,
      });
      if (recovered.interrupted) return await interrupt(deps, run, recovered.interrupted, total(usage));
      resume = recovered.resume;
    }
    const open = new Set(resume?.toolCalls.map((c) => c.id));
    const history = repairHistory(stored, open);
    const memory = memoryOf(deps);
    const embed = { tenantId: run.tenantId, tenantName: run.call.tenantName, requestId: run.call.requestId };
    const assembled = await memory.assemble({
      tenantId: run.tenantId,
      agent,
      history,
      variables: run.context,
      embed,
      trace: callParent(run.call),
    });
    const messages: ChatMessage[] = assembled.messages;
    record = assembled.record;
    const roundOf = (r: Round) => withContext(r, assembled.record);
    const outcome = await runLoop({
      models: deps.models,
      tools: deps.tools,
      model: agent.model,
      // The tenant's MCP tools among them too (their servers listed on first use).
      toolSpecs: await deps.tools.specsFor(run.tenantId, agent.tools),
      messages,
      call: run.call,
      toolContext: {
        tenantId: run.tenantId,
        sessionId: run.sessionId,
        runId: run.runId,
        workspace: run.workspace,
      },
      idempotencyKey: runIdempotencyKey(run.runId, run.options),
      streaming: run.options.streaming,
      maxSteps: run.options.max_steps,
      modelCalls: run.modelCalls,
      needsApproval,
      resume,
      signal: run.signal,
      drain: run.drain,
      recordEachStep: deps.recordEachStep,
      metrics: deps.metrics,
      emit: (type, data, withStep) => writer.emit(type, data, withStep),
      commit: async (round) => {
        usage = addUsage(usage, round.usage);
        const ok = await finish(roundOf(round));
        // No longer ours (cancelled, reaped): stop here rather than keep calling the model.
        if (!ok) throw new RunAborted('cancelled', 'the run was ended elsewhere');
      },
    });
    usage = outcome.usage;
    if (outcome.kind === 'paused') {
      await finish({ ...roundOf(outcome.round), status: 'input_required', pending: outcome.pending }, [
        event('approval_required', { tool_calls: outcome.needingApproval.map(toRecord) }),
      ]);
      return {
        status: 'input_required',
        pending: outcome.needingApproval.map(toRecord),
        toolCalls: outcome.toolCalls,
        usage: total(usage),
      };
    }
    // Before the run is marked completed, so whoever sees it completed finds its playbook stored.
    const playbook = await memory.learn({
      tenantId: run.tenantId,
      agent,
      bound: assembled.bound,
      goal: lastUserText(history),
      toolCalls: outcome.toolCalls,
      outcome: outcome.text,
      embed,
    });
    const result = {
      text: outcome.text,
      usage: total(usage),
      duration_ms: Date.now() - run.startedAt,
      model_calls: outcome.modelCalls,
      tool_calls: outcome.toolCalls.length,
      ...(playbook && { playbook: { status: playbook.status, document_id: playbook.documentId } }),
    };
    await finish(
      { ...roundOf(outcome.round), status: 'completed', output: outcome.text },
      terminal('completed', [event('result', result)]),
    );
    return {
      status: 'completed',
      text: outcome.text,
      model: outcome.model,
      finishReason: outcome.finishReason,
      toolCalls: outcome.toolCalls,
      usage: total(usage),
    };
  } catch (err) {
    const reason = run.signal.aborted ? run.signal.reason : err;
    if (reason instanceof RunDrained || (reason instanceof RunAborted && reason.kind === 'shutdown')) {
      return release(deps, run, total(usage));
    }
    if (reason instanceof RunAborted && reason.kind === 'cancelled') {
      // Whoever cancelled wrote the end of the stream; later events would land after it.
      return {
        status: 'cancelled',
        error: { code: 'cancelled', message: reason.message },
        usage: total(usage),
      };
    }
    const error =
      reason instanceof RunAborted
        ? { code: 'shutdown', message: 'the server shut down before the run finished' }
        : reason instanceof LoopError
          ? { code: reason.code, message: reason.message }
          : reason instanceof AppError
            ? { code: reason.code, message: reason.message }
            : { code: 'internal', message: 'the run failed with an internal error' };
    if (!(reason instanceof LoopError || reason instanceof AppError || reason instanceof RunAborted)) {
      deps.log.error({ err: reason, run_id: run.runId }, 'run failed');
    }
    const round =
      reason instanceof LoopError
        ? record
          ? withContext(reason.round, record)
          : plainRound(reason.round)
        : {};
    await finish(
      { ...round, status: 'failed', error },
      terminal('failed', [event('error', error)]),
      true,
    ).catch((e) => deps.log.error({ err: e, run_id: run.runId }, 'could not record the run failure'));
    return { status: 'failed', error, cause: reason, usage: total(usage) };
  }
}

/**
 * Gives the run's lease up at shutdown, leaving it `running` from its last recorded step: another
 * process (told through the bus) takes it over at once.
 */
export async function release(
  deps: Pick<ExecuteDeps, 'store' | 'owner' | 'log'>,
  run: Pick<RunSpec, 'runId' | 'writer'>,
  usage: Usage,
): Promise<RunResult> {
  await recordStep(deps, run, { release: true }, [], true).catch((e) =>
    deps.log.warn({ err: e, run_id: run.runId }, 'could not release the run'),
  );
  const error = { code: 'released', message: 'this process shut down; another one carries the run on' };
  return { status: 'failed', error, usage };
}

/**
 * A taken-over run whose calls in flight at the death may not run twice: it stops as `interrupted`,
 * the calls kept in `pending` (with their arguments) for a person to resume or cancel it.
 */
export async function interrupt(
  deps: Pick<ExecuteDeps, 'store' | 'owner'>,
  run: Pick<RunSpec, 'runId' | 'writer'>,
  calls: ToolCall[],
  usage: Usage,
): Promise<RunResult> {
  const error = { code: 'interrupted', message: interruptedMessage(calls) };
  await recordStep(deps, run, { status: 'interrupted', error, pending: calls }, [
    event('interrupted', { ...error, tool_calls: calls.map(toRecord) }),
  ]);
  return { status: 'failed', error, usage };
}

/** A run's step or end as `RunStore.advance` writes it, less what `recordStep` adds. */
export type Step = Omit<Advance, 'runId' | 'owner' | 'events'>;

/**
 * Records a run's step or end with the events still buffered, then `extra`, through its writer (one
 * statement at a time per run); undefined when the run is no longer this process's.
 */
export function recordStep(
  deps: Pick<ExecuteDeps, 'store' | 'owner'>,
  run: Pick<RunSpec, 'runId' | 'writer'>,
  step: Step,
  extra: PendingEvent[] = [],
  afterFailure = false,
) {
  return run.writer.record(
    (buffered) =>
      deps.store.advance({ ...step, runId: run.runId, owner: deps.owner, events: [...buffered, ...extra] }),
    afterFailure,
  );
}

function plainRound(r: Round) {
  return { messages: r.messages, steps: r.steps, modelCalls: r.modelCalls, usage: r.usage };
}

/** The round with its model steps' inputs carrying the assembled context (visible in GET /v1/runs/:id). */
export function withContext(r: Round, context: ContextRecord) {
  return {
    ...plainRound(r),
    steps: r.steps.map((step) =>
      step.kind === 'model' ? { ...step, input: { ...(step.input as object), context } } : step,
    ),
  };
}

/** Where spans of a run's own work hang: the call's parent (the run's span), if traced. */
export function callParent(call: Omit<CallContext, 'signal'>): SpanParent | undefined {
  return call.traceId
    ? { traceId: call.traceId, spanId: call.parentSpanId, traceState: call.traceState }
    : undefined;
}
