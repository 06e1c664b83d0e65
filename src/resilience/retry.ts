/** Retry timing: exponential backoff with full jitter, honouring the upstream's Retry-After. */
export interface RetryOptions {
  /** Retries after the first attempt. */
  max: number;
  base_ms: number;
  max_ms: number;
}

/**
 * How long to wait before retry number `attempt` (0 for the first retry), or undefined when the
 * upstream asked for a longer pause than `max_ms`: then waiting in-line would only hold the caller,
 * so the error goes back (with its Retry-After) or on to a fallback model instead.
 */
export function backoffMs(
  attempt: number,
  options: RetryOptions,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number | undefined {
  if (retryAfterSeconds !== undefined) {
    const ms = retryAfterSeconds * 1000;
    return ms > options.max_ms ? undefined : ms;
  }
  return fullJitter(attempt, options.base_ms, options.max_ms, random);
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * uniform in [0, min(cap, base * 2^step)], `step` counting from 0. Full jitter spreads retries that
 * failed together (an upstream outage) instead of bringing them back in one wave.
 */
export function fullJitter(
  step: number,
  base: number,
  cap: number,
  random: () => number = Math.random,
): number {
  return random() * Math.min(cap, base * 2 ** Math.max(0, step));
}

/** Parses Retry-After (seconds, or an HTTP date) into seconds from now; undefined when absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
