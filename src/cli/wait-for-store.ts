import { isStoreUnavailable } from '../db/unavailable.ts';
import { toError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/** The first wait after a failed start, doubled after each failure up to `MAX_DELAY_MS`. */
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

/**
 * Starts `open` again and again while it fails because the store cannot be reached, waiting longer
 * each time (1 s, 2 s, 4 s … 30 s, with a little jitter so a fleet does not knock in step), each
 * failure a warning. A worker is started by a supervisor (systemd, Kubernetes, compose) that may
 * start it before PostgreSQL is up, or while it restarts: it waits for the database rather than
 * exiting into a restart loop, for as long as it takes, until `signal` stops it (SIGTERM). Any other
 * error (a bad setting, a failed migration) is thrown at once. Undefined when stopped while waiting.
 */
export async function openWhenStoreReachable<T>(
  open: () => Promise<T>,
  log: Logger,
  signal: AbortSignal,
  random: () => number = Math.random,
): Promise<T | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      return await open();
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      const base = Math.min(FIRST_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS);
      const delay = Math.round(base * (0.9 + 0.2 * random()));
      log.warn(
        { reason: toError(err).message, attempt, retry_in_ms: delay },
        'the store cannot be reached; retrying until it can (SIGTERM stops)',
      );
      await sleep(delay, signal);
    }
  }
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
