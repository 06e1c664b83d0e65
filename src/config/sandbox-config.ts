import { z } from 'zod';
import { breakerOptions } from './resilience-config.ts';

/**
 * The sandbox's part of the config tree (`sandbox.*`): the limits every sandbox gets, the warm pool
 * per backend, and the per-tool circuit breakers. Kept beside config.ts so that file stays readable.
 */

const MiB = 1024 * 1024;

const limits = z
  .object({
    /** Wall-clock time one execution may take before the sandbox is killed. */
    timeout_ms: z.coerce.number().int().positive().default(30_000),
    /** CPU seconds one process may use (RLIMIT_CPU). */
    cpu_seconds: z.coerce.number().positive().default(30),
    /** Share of one core (cgroup CPU quota): 0.5 is half a core. */
    cpu_quota: z.coerce.number().positive().max(64).default(1),
    /** Memory in bytes, tmpfs included. */
    memory_bytes: z.coerce
      .number()
      .int()
      .min(16 * MiB)
      .default(256 * MiB),
    /** Processes and threads alive at once. */
    max_processes: z.coerce.number().int().min(4).default(64),
    /** Open files per process. */
    max_open_files: z.coerce.number().int().min(16).default(256),
    /** Size of the tmpfs workspace and of /tmp, each, in bytes. */
    workspace_bytes: z.coerce
      .number()
      .int()
      .min(MiB)
      .default(64 * MiB),
    /** Bytes kept of stdout and of stderr each; beyond it the output is cut with a marker. */
    max_output_bytes: z.coerce.number().int().min(1024).default(MiB),
  })
  .strict();

const pool = z
  .object({
    /** Sandboxes kept ready; 0 turns this backend off. */
    size: z.coerce.number().int().min(0).max(256).default(2),
    /** Most sandboxes alive at once (ready + busy + being prepared). */
    max_total: z.coerce.number().int().min(1).max(1024).default(16),
    /** How long an acquire waits for a sandbox before answering 503. */
    acquire_timeout_ms: z.coerce.number().int().positive().default(5_000),
  })
  .strict();

export const sandboxConfig = z
  .object({
    /** Limits of every sandbox; quickjs uses timeout, memory and output. */
    limits: limits.prefault({}),
    /** bubblewrap's path; found on the usual paths (/usr/bin, PATH) when absent. */
    bwrap_path: z.string().min(1).optional(),
    /** How limits are enforced: `auto` picks cgroup v2, then v1, then rlimits. */
    limit_mode: z.enum(['auto', 'cgroup-v2', 'cgroup-v1', 'rlimits']).default('auto'),
    pools: z
      .object({
        bwrap: pool.prefault({}),
        quickjs: pool.prefault({}),
        /** Sandboxes for local-dev agents (env pool): started on first use, one kept ready by default. */
        agent: pool.prefault({ size: 1 }),
      })
      .strict()
      .prefault({}),
    /** Per-tool circuit breakers: consecutive infrastructure failures before a tool is disabled, and for how long. */
    breaker: breakerOptions(5, 30_000),
  })
  .strict();

export type SandboxConfig = z.infer<typeof sandboxConfig>;
