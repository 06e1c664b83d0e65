import { AppError } from '../../errors.ts';
import type { Usage } from '../../models/types.ts';
import type { ToolCallRecord } from '../schema.ts';
import {
  type ExecuteDeps,
  LoopError,
  RunAborted,
  RunDrained,
  type RunResult,
  type RunSpec,
} from '../types.ts';
import { event } from './events.ts';
import { finishStep, release, type Step } from './step.ts';

/** How a run that threw stops: the one reading of its reason, for every executor. */
export type Stopped =
  /** Shutdown or drain: released at its last step, another process carries it on. */
  | { kind: 'released'; reason: unknown }
  /** Cancelled: whoever cancelled wrote its end; later events would land after it. */
  | { kind: 'cancelled'; reason: RunAborted }
  /** Failed, with a code the caller can act on; `internal` when the cause is ours (logged). */
  | { kind: 'failed'; reason: unknown; error: { code: string; message: string }; internal: boolean };

/**
 * Why a run stopped: the signal's reason when it was aborted (a cancel or a shutdown outranks the
 * error it caused), else `err`. A loop or application error keeps its code; anything else is
 * `internal`, with a message that hides it.
 */
export function stoppedBy(signal: AbortSignal, err: unknown): Stopped {
  const reason = signal.aborted ? signal.reason : err;
  if (reason instanceof RunAborted && reason.kind === 'cancelled') return { kind: 'cancelled', reason };
  if (reason instanceof RunDrained || reason instanceof RunAborted) return { kind: 'released', reason };
  if (reason instanceof LoopError || reason instanceof AppError)
    return { kind: 'failed', reason, error: { code: reason.code, message: reason.message }, internal: false };
  const error = { code: 'internal', message: 'the run failed with an internal error' };
  return { kind: 'failed', reason, error, internal: true };
}

/** A run's final answer, as its executor got it. */
export interface Answer {
  text: string;
  /** The model that answered (after aliases and fallbacks), or the remote runtime's name for it. */
  model: string;
  finishReason: string;
  toolCalls: ToolCallRecord[];
  /** The run's model calls in all, resumed executions included. */
  modelCalls: number;
  /** More of the `result` event (a playbook, a team's path). */
  extra?: Record<string, unknown>;
}

/** How an execution of a run ended, as its executor tells it. */
export type Ending =
  /** With an answer: the run completes, with its last round. */
  | { answer: Answer; round?: Step }
  | {
      err: unknown;
      /** What to record of the round a `LoopError` carries (its rows as they are, else). */
      round?(loop: LoopError): Step;
      /** The run's code and the error event's details, when the failure names its own. */
      describe?(reason: unknown): { code?: string; details?: Record<string, unknown> };
    };

/**
 * Records how an execution of a run ended and answers its result: the one place where an executor's
 * end becomes the run's state, whatever executed it. An answer completes the run; an error releases
 * it (shutdown, drain: another process carries it on), leaves it to whoever cancelled it, or fails it
 * with a code. `usage` is the run's in all.
 */
export async function endRun(
  deps: ExecuteDeps,
  run: RunSpec,
  ending: Ending,
  usage: Usage,
): Promise<RunResult> {
  if ('answer' in ending) {
    const { text, model, finishReason, toolCalls, modelCalls, extra } = ending.answer;
    const result = {
      text,
      model,
      usage,
      duration_ms: Date.now() - run.startedAt,
      model_calls: modelCalls,
      tool_calls: toolCalls.length,
      ...extra,
    };
    await finishStep(deps, run, { ...ending.round, status: 'completed', output: text }, [
      event('result', result),
      event('session_end', { status: 'completed' }),
    ]);
    return { status: 'completed', text, model, finishReason, toolCalls, usage };
  }
  const stopped = stoppedBy(run.signal, ending.err);
  if (stopped.kind === 'released') return release(deps, run, usage);
  if (stopped.kind === 'cancelled') {
    return { status: 'cancelled', error: { code: 'cancelled', message: stopped.reason.message }, usage };
  }
  const { reason } = stopped;
  if (stopped.internal) deps.log.error({ err: reason, run_id: run.runId }, 'run failed');
  const own = ending.describe?.(reason);
  const error = { code: own?.code ?? stopped.error.code, message: stopped.error.message };
  const round = reason instanceof LoopError ? (ending.round?.(reason) ?? rowsOf(reason)) : {};
  await finishStep(
    deps,
    run,
    { ...round, status: 'failed', error },
    [event('error', { ...own?.details, ...error }), event('session_end', { status: 'failed' })],
    true,
  ).catch((e) => deps.log.error({ err: e, run_id: run.runId }, 'could not record the run failure'));
  return { status: 'failed', error, cause: reason, usage };
}

const rowsOf = ({ round: r }: LoopError): Step => ({
  messages: r.messages,
  steps: r.steps,
  modelCalls: r.modelCalls,
  usage: r.usage,
});
