import { AppError } from '../errors.ts';

/**
 * Prints a clear one-line error and exits non-zero (`exitCode`, or 2 for a configuration error and
 * 1 for any other); the stack only with AGENTRY_DEBUG set.
 */
export function fail(err: unknown, exitCode?: number): never {
  const message = err instanceof AppError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`agentry: ${message}\n`);
  if (process.env.AGENTRY_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCode ?? (err instanceof AppError && err.code === 'config_error' ? 2 : 1));
}

/** Wraps a command action so every error ends in `fail`, with the exit code `exitCode` gives it. */
export const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<void>, exitCode?: (err: unknown) => number) =>
  async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      fail(err, exitCode?.(err));
    }
  };
