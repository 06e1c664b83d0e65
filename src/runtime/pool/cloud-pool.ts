import type { Agent } from '../../agents/schema.ts';
import { AppError } from '../../errors.ts';
import { executeRun } from '../loop/execute.ts';
import { RunWriter } from '../runs/end.ts';
import type { ExecuteDeps, Executor, RunResult, RunSpec } from '../types.ts';

/** A warm pool whose sandboxes a run can hold (the tools' pool: `SandboxService`). */
export interface WarmHold {
  /** Takes a sandbox and keeps it until `release`; waits for a free one up to the pool's acquire timeout. */
  hold(signal?: AbortSignal): Promise<{ release: () => void }>;
  /** Why no sandbox can be held here (no warm pool runs), or undefined when one can. */
  holdUnavailable(): string | undefined;
}

/** Refuses (503), before anything is written, a run of a `cloud_pool` agent where no warm pool runs. */
export function cloudPoolAdmission(pool: WarmHold) {
  return async (_tenantId: string, agent: Agent): Promise<void> => {
    const why = agent.env === 'cloud_pool' ? pool.holdUnavailable() : undefined;
    if (why)
      throw new AppError('unavailable', `agent ${agent.name} runs in the warm pool (env cloud_pool): ${why}`);
  };
}

/**
 * Runs of `cloud_pool` agents: the agent loop, as for `in_process`, while the run holds one sandbox
 * of the tools' warm pool from start to end, as isA's pool manager kept a warm VM for each chat. The
 * pool's size bounds how many such runs go at once (a run waits for a free sandbox, then fails with
 * `unavailable`), and its statistics count the held sandbox busy. A run on an isA pool instance
 * already has its sandbox (`held_sandbox`) and takes no second one; a team's members run inside the
 * team's run and hold none of their own.
 */
export function cloudPoolExecutor(pool: WarmHold): Executor {
  return async (deps: ExecuteDeps, run: RunSpec): Promise<RunResult> => {
    if (run.options.held_sandbox) return executeRun(deps, run);
    let held: { release: () => void };
    try {
      held = await pool.hold(run.signal);
    } catch (err) {
      return new RunWriter(deps, run).fail(err);
    }
    try {
      return await executeRun(deps, run);
    } finally {
      held.release();
    }
  };
}
