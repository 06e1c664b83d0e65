/**
 * The change of one evaluator between two experiments, over the items both scored: the mean of the
 * paired per-item differences with a 95% paired-bootstrap interval, and a verdict that calls a
 * change only when the interval leaves out 0, so noise is not called a regression.
 *
 * Why a bootstrap and not a paired t interval: scores are bounded and often 0 or 1 (pass/fail
 * evaluators), so the differences are lumpy, skewed and full of ties, far from the normal the t
 * interval assumes; resampling the pairs assumes nothing of their shape. The seed is fixed, so the
 * same two experiments always get the same interval and verdict.
 */

/** Resamples of the pairs: enough for a stable 2.5% tail, cheap for thousands of items. */
const RESAMPLES = 2000;
const SEED = 0x6a09e667;

export type Verdict = 'improved' | 'regressed' | 'unchanged';

export interface PairedDelta {
  /** Items both experiments scored with this evaluator. */
  pairs: number;
  /** The mean of candidate minus baseline over the pairs (positive: better); null with no pair. */
  mean_delta: number | null;
  /** The 95% interval of that mean; null with fewer than two pairs (too few to tell noise from change). */
  interval: { low: number; high: number } | null;
  verdict: Verdict;
}

export function pairedDelta(diffs: readonly number[]): PairedDelta {
  const n = diffs.length;
  if (n === 0) return { pairs: 0, mean_delta: null, interval: null, verdict: 'unchanged' };
  const mean = diffs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { pairs: n, mean_delta: round(mean), interval: null, verdict: 'unchanged' };
  const next = mulberry32(SEED);
  const means = new Float64Array(RESAMPLES);
  for (let b = 0; b < RESAMPLES; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diffs[Math.floor(next() * n)]!;
    means[b] = sum / n;
  }
  means.sort();
  const low = round(means[Math.floor(0.025 * RESAMPLES)]!);
  const high = round(means[Math.ceil(0.975 * RESAMPLES) - 1]!);
  return {
    pairs: n,
    mean_delta: round(mean),
    interval: { low, high },
    verdict: low > 0 ? 'improved' : high < 0 ? 'regressed' : 'unchanged',
  };
}

/** A small seeded generator (mulberry32): the same draws on every machine and every call. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
