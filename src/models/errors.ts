import { AppError } from '../errors.ts';
import { UpstreamError } from './provider.ts';
import type { CallerSignal } from './types.ts';

/** Why a call was aborted by the gateway itself (as opposed to the caller going away). */
export class TimeoutReason extends Error {
  constructor(readonly which: 'connect' | 'first_byte' | 'total') {
    super(`model call timed out (${which})`);
  }
}

/** Anything a provider threw, as an UpstreamError (signal tells timeouts from caller aborts). */
export function asUpstreamError(err: unknown, signal?: CallerSignal): UpstreamError {
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof TimeoutReason) return new UpstreamError('timeout', reason.message, { cause: err });
    return new UpstreamError('aborted', 'the caller went away', { cause: err });
  }
  if (err instanceof UpstreamError) return err;
  return new UpstreamError('network', `provider unreachable: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}

/**
 * Maps an upstream failure to the catalogue. The provider's own credentials or quota problems are
 * ours, not the caller's, so upstream 401/403 become 502; a caller's bad request stays a 400.
 */
export function toAppError(err: UpstreamError, model: string): AppError {
  const where = `model ${model}`;
  if (err.kind === 'timeout')
    return new AppError('gateway_timeout', `${where}: ${err.message}`, { cause: err });
  if (err.kind === 'aborted')
    return new AppError('bad_request', 'request aborted by the client', { cause: err });
  if (err.kind === 'network') return new AppError('bad_gateway', `${where}: ${err.message}`, { cause: err });
  const s = err.status ?? 502;
  const msg = `${where}: upstream answered ${s}: ${err.message}`;
  if (s === 429) return new AppError('rate_limited', msg, { cause: err, retryAfter: err.retryAfter ?? 1 });
  if (s === 400) return new AppError('bad_request', msg, { cause: err });
  if (s === 404) return new AppError('not_found', msg, { cause: err });
  if (s === 413) return new AppError('payload_too_large', msg, { cause: err });
  if (s === 422) return new AppError('unprocessable', msg, { cause: err });
  if (s === 504 || s === 408) return new AppError('gateway_timeout', msg, { cause: err });
  return new AppError('bad_gateway', msg, { cause: err });
}
