import { z } from 'zod';

/**
 * The shapes shared by every breaker and retry setting (models, tools, remote runtimes), so each is
 * validated the same way: a backoff base above its cap is refused at start, naming the field.
 */
export const retryOptions = (max: number, baseMs: number, maxMs: number, most = 20) =>
  z
    .object({
      /** Retries after the first attempt. */
      max: z.coerce.number().int().min(0).max(most).default(max),
      /** Backoff base: attempt n waits a random time in [0, min(max_ms, base_ms·2ⁿ)] (full jitter). */
      base_ms: z.coerce.number().int().min(0).max(3_600_000).default(baseMs),
      max_ms: z.coerce.number().int().min(0).max(3_600_000).default(maxMs),
    })
    .strict()
    .refine((r) => r.base_ms <= r.max_ms, { message: 'base_ms must not exceed max_ms', path: ['base_ms'] })
    .prefault({});

export const breakerOptions = (threshold: number, resetMs: number) =>
  z
    .object({
      /** Consecutive failures that open the breaker. */
      failure_threshold: z.coerce.number().int().min(1).max(1000).default(threshold),
      /** How long an open breaker refuses calls before letting one probe through. */
      reset_ms: z.coerce.number().int().positive().max(86_400_000).default(resetMs),
    })
    .strict()
    .prefault({});
