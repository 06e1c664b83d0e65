import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import type { CircuitBreaker } from './breaker.ts';
import { backoffMs, type RetryOptions } from './retry.ts';

/** One failed try of a guarded call: whether another may help, and the server's Retry-After. */
export class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly kind: 'timeout' | 'other' = 'other',
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/**
 * Calls `once` through `breaker` with full-jitter retries on retryable `AttemptFailure`s. An open breaker
 * is 503 with Retry-After; retries spent are 504 after a timeout, else 502, naming `what` (e.g.
 * "A2A agent <url>") and the attempts made. Any other error, and an abort, pass through.
 */
export async function guardedCall<T>(
  what: string,
  breaker: CircuitBreaker,
  retries: RetryOptions,
  signal: AbortSignal,
  once: () => Promise<T>,
): Promise<T> {
  let last: AttemptFailure | undefined;
  let made = 0;
  for (let attempt = 0; attempt <= retries.max; attempt++) {
    if (attempt > 0) {
      const wait = backoffMs(attempt - 1, retries, last?.retryAfter);
      if (wait === undefined) break;
      await sleep(wait, undefined, { signal });
    }
    if (!breaker.acquire()) {
      throw new AppError(
        'unavailable',
        `${what} is failing: its circuit breaker is open${last ? ` (last error: ${last.message})` : ''}`,
        { retryAfter: Math.max(1, Math.ceil(breaker.retryInMs() / 1000)) },
      );
    }
    made++;
    try {
      const answer = await once();
      breaker.success();
      return answer;
    } catch (err) {
      if (signal.aborted) {
        breaker.release();
        throw signal.reason;
      }
      if (!(err instanceof AttemptFailure)) {
        breaker.release();
        throw err;
      }
      last = err;
      if (err.retryable) breaker.failure();
      else breaker.release();
      if (!err.retryable) break;
    }
  }
  // Attempts made, not allowed: a refusal or a 4xx is not retried.
  const tries = `after ${made} attempt(s)`;
  if (last?.kind === 'timeout')
    throw new AppError('gateway_timeout', `${what} timed out ${tries}: ${last.message}`);
  throw new AppError('bad_gateway', `${what} failed ${tries}: ${last?.message}`);
}
