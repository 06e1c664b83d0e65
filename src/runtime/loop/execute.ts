import type { CallContext, Usage } from '../../models/types.ts';
import type { SpanParent } from '../../observability/spans.ts';
import { event, type PendingEvent } from '../runs/events.ts';
import { recoverRound } from '../runs/recovery.ts';
import { addUsage, runIdempotencyKey, toRecord, zeroUsage } from '../runs/rows.ts';
import { interrupt, recordStep, release, type Step } from '../runs/step.ts';
import { stoppedBy } from '../runs/stopped.ts';
import {
  type ExecuteDeps,
  LoopError,
  type Resume,
  type Round,
  RunAborted,
  type RunResult,
  type RunSpec,
} from '../types.ts';
import { type ContextRecord, defaultContextSettings, LoopMemory, lastUserText } from './context.ts';
import { type LoopOutcome, runLoop } from './loop.ts';
import { repairHistory } from './prompt.ts';

/** Written when a run pauses for the results of its caller's tools (as `approval_required` for a person). */
export const CALLER_WAIT_EVENT = 'tool_results_required';

/** For deps built without memory (tests, tools): history budget only, no knowledge look-ups. */
let bare: LoopMemory | undefined;
export function memoryOf(deps: Pick<ExecuteDeps, 'memory' | 'log'>): LoopMemory {
  if (deps.memory) return deps.memory;
  bare ??= LoopMemory.historyOnly(defaultContextSettings, deps.log);
  return bare;
}

/** Records a step of the run; false when the run is no longer this process's. */
type Finish = (step: Step, extra?: PendingEvent[], afterFailure?: boolean) => Promise<boolean>;

function finisher(deps: ExecuteDeps, run: RunSpec): Finish {
  return async (step, extra = [], afterFailure = false) => {
    const written = await recordStep(deps, run, step, extra, afterFailure);
    if (!written) return false;
    if (step.status && step.status !== 'input_required' && written.queued) deps.onQueued(run.sessionId);
    return true;
  };
}

const terminal = (status: string, extra: PendingEvent[] = []): PendingEvent[] => [
  ...extra,
  event('session_end', { status }),
];

/**
 * Executes a run with the agent loop and persists how it ends: `completed` with its answer,
 * `input_required` with the calls that wait, or `failed` with a code (`max_steps`, a model error's
 * code, `shutdown`). A run cancelled meanwhile was already ended by whoever cancelled it.
 */
export async function executeRun(deps: ExecuteDeps, run: RunSpec): Promise<RunResult> {
  const finish = finisher(deps, run);
  let usage = zeroUsage();
  let record: ContextRecord | undefined;
  try {
    const stored = run.history ?? (await deps.store.history(run.sessionId));
    const collaborative = run.agent.mode === 'COLLABORATIVE';
    const callerTools = run.options.caller_tools ?? [];
    const needsApproval = (tool: string) => collaborative && deps.tools.get(tool)?.requires_approval === true;
    let resume: Resume | undefined = run.resume;
    if (run.takeover) {
      const recovered = await recoverRound(deps.store, run.runId, stored, {
        // A call that needed approval is not run again without a person either.
        idempotent: (tool) => deps.tools.get(tool)?.idempotent === true && !needsApproval(tool),
        rerun: run.takeover.rerun,
      });
      if (recovered.interrupted) return await interrupt(deps, run, recovered.interrupted, run.usage);
      resume = recovered.resume;
    }
    const history = repairHistory(stored, new Set(resume?.toolCalls.map((c) => c.id)));
    const memory = memoryOf(deps);
    const assembled = await memory.assemble({
      tenantId: run.tenantId,
      agent: run.agent,
      history,
      variables: run.context,
      embed: embedOf(run),
      trace: callParent(run.call),
    });
    record = assembled.record;
    const roundOf = (r: Round) => withContext(r, assembled.record);
    const outcome = await runLoop({
      ...loopSettings(deps, run),
      // The tenant's MCP tools among them too (their servers listed on first use), and the caller's.
      toolSpecs: [...(await deps.tools.specsFor(run.tenantId, run.agent.tools)), ...callerTools],
      messages: assembled.messages,
      needsApproval,
      callerTools: new Set(callerTools.map((t) => t.function.name)),
      resume,
      commit: async (round) => {
        usage = addUsage(usage, round.usage);
        const ok = await finish(roundOf(round));
        // No longer ours (cancelled, reaped): stop here rather than keep calling the model.
        if (!ok) throw new RunAborted('cancelled', 'the run was ended elsewhere');
      },
    });
    usage = outcome.usage;
    const total = addUsage(run.usage, usage);
    if (outcome.kind === 'paused') {
      // A person's approval comes first; else the run waits for the caller's results.
      const approval = outcome.needingApproval.length > 0;
      const waitingOn = approval ? outcome.needingApproval : outcome.forCaller;
      await finish({ ...roundOf(outcome.round), status: 'input_required', pending: outcome.pending }, [
        event(approval ? 'approval_required' : CALLER_WAIT_EVENT, { tool_calls: waitingOn.map(toRecord) }),
      ]);
      const pending = waitingOn.map(toRecord);
      return {
        status: 'input_required',
        pending,
        toolCalls: outcome.toolCalls,
        usage: total,
        ...(!approval && { forCaller: outcome.forCaller }),
      };
    }
    // Before the run is marked completed, so whoever sees it completed finds its playbook stored.
    const playbook = await memory.learn({
      tenantId: run.tenantId,
      agent: run.agent,
      bound: assembled.bound,
      goal: lastUserText(history),
      toolCalls: outcome.toolCalls,
      outcome: outcome.text,
      embed: embedOf(run),
    });
    return await completed(finish, run, { ...outcome, round: roundOf(outcome.round) }, total, playbook);
  } catch (err) {
    return await failed(deps, run, finish, err, record, addUsage(run.usage, usage));
  }
}

/** What the loop takes from the run and its executor, the same for every call of it. */
function loopSettings(deps: ExecuteDeps, run: RunSpec) {
  return {
    models: deps.models,
    tools: deps.tools,
    model: run.agent.model,
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
    responseFormat:
      run.options.response_format !== undefined ? run.options.response_format : run.agent.response_format,
    modelCalls: run.modelCalls,
    signal: run.signal,
    drain: run.drain,
    recordEachStep: deps.recordEachStep,
    metrics: deps.metrics,
    emit: (type: string, data: Record<string, unknown>, withStep?: boolean) =>
      run.writer.emit(type, data, withStep),
  };
}

const embedOf = (run: RunSpec) => ({
  tenantId: run.tenantId,
  tenantName: run.call.tenantName,
  requestId: run.call.requestId,
});

/** Records the final answer with its `result` and `session_end` events. */
async function completed(
  finish: Finish,
  run: RunSpec,
  outcome: Extract<LoopOutcome, { kind: 'final' }> & { round: Step },
  usage: Usage,
  playbook: { status: string; documentId?: string } | undefined,
): Promise<RunResult> {
  const result = {
    text: outcome.text,
    // The model that answered (after aliases and fallbacks, or the mock standing in for a name).
    model: outcome.model,
    usage,
    duration_ms: Date.now() - run.startedAt,
    model_calls: outcome.modelCalls,
    tool_calls: outcome.toolCalls.length,
    ...(playbook && { playbook: { status: playbook.status, document_id: playbook.documentId } }),
  };
  await finish(
    { ...outcome.round, status: 'completed', output: outcome.text },
    terminal('completed', [event('result', result)]),
  );
  const { text, model, finishReason, toolCalls } = outcome;
  return { status: 'completed', text, model, finishReason, toolCalls, usage };
}

/**
 * How a run that threw ends: released at shutdown or drain (another process carries it on), left
 * to whoever cancelled it, or recorded as failed with a code the caller can act on.
 */
async function failed(
  deps: ExecuteDeps,
  run: RunSpec,
  finish: Finish,
  err: unknown,
  record: ContextRecord | undefined,
  usage: Usage,
): Promise<RunResult> {
  const stopped = stoppedBy(run.signal, err);
  if (stopped.kind === 'released') return release(deps, run, usage);
  if (stopped.kind === 'cancelled') {
    return { status: 'cancelled', error: { code: 'cancelled', message: stopped.reason.message }, usage };
  }
  const { reason, error } = stopped;
  if (stopped.internal) deps.log.error({ err: reason, run_id: run.runId }, 'run failed');
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
  return { status: 'failed', error, cause: reason, usage };
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
