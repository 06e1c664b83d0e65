import type { CallContext } from '../../models/types.ts';
import { addUsage, zeroUsage } from '../../models/usage-details.ts';
import type { SpanParent } from '../../observability/spans.ts';
import { event, type PendingEvent } from '../runs/events.ts';
import { recoverRound } from '../runs/recovery.ts';
import { runIdempotencyKey, toRecord } from '../runs/rows.ts';
import { finishStep, interrupt, type Step } from '../runs/step.ts';
import { endRun } from '../runs/stopped.ts';
import {
  type ExecuteDeps,
  type LoopError,
  type Resume,
  type Round,
  RunAborted,
  type RunResult,
  type RunSpec,
} from '../types.ts';
import { type ContextRecord, defaultContextSettings, LoopMemory, lastUserText } from './context.ts';
import { runLoop } from './loop.ts';
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

/**
 * Executes a run with the agent loop and persists how it ends: `completed` with its answer,
 * `input_required` with the calls that wait, `failed` with a code (`max_steps`, a model error's
 * code), or released at shutdown (`endRun`). A run cancelled meanwhile was already ended by whoever
 * cancelled it.
 */
export async function executeRun(deps: ExecuteDeps, run: RunSpec): Promise<RunResult> {
  const finish = (step: Step, extra?: PendingEvent[]) => finishStep(deps, run, step, extra);
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
      // None for most runs: an empty Set is still ~0.2 kB that a run waiting on its model holds.
      callerTools: callerTools.length > 0 ? new Set(callerTools.map((t) => t.function.name)) : undefined,
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
    const { text, model, finishReason, toolCalls, modelCalls } = outcome;
    const answer = { text, model, finishReason, toolCalls, modelCalls };
    // The playbook stored from the run, if any, is named in its `result` event.
    const extra = playbook && { playbook: { status: playbook.status, document_id: playbook.documentId } };
    return await endRun(deps, run, { answer: { ...answer, extra }, round: roundOf(outcome.round) }, total);
  } catch (err) {
    const context = record;
    // The loop's last round is recorded with the context its model steps were given, once assembled.
    const round = context && ((loop: LoopError) => withContext(loop.round, context));
    return await endRun(deps, run, { err, round }, addUsage(run.usage, usage));
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
