import { AppError } from '../../errors.ts';
import { LoopError, RunAborted, RunDrained } from '../types.ts';

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
