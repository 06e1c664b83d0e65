/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * a uniform delay in [0, min(cap, base * 2^(attempt-1))]. Full jitter spreads retries of tasks that
 * failed together (an upstream outage) instead of bringing them back in one wave.
 */
export function fullJitterMs(attempt: number, baseSeconds: number, capSeconds: number, random = Math.random) {
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling * 1000);
}
