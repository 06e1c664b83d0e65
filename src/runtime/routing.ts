import type { Agent, AgentEnv } from '../agents/schema.ts';
import { AppError } from '../errors.ts';
import { executeRun } from './loop/execute.ts';
import type { RunOptions } from './runs/rows.ts';
import type { ExecuteDeps, Executor, Executors, RunResult, RunSpec } from './types.ts';

/** The executor of a run: the loop here, or the one plugged in for its agent's env or its spec. */
export function executorFor(
  agent: Agent,
  options: RunOptions,
  executors: Executors | undefined,
): (deps: ExecuteDeps, run: RunSpec) => Promise<RunResult> {
  if (options.multi_agent) return executors?.multi_agent ?? executeRun;
  const byEnv: Partial<Record<AgentEnv, Executor>> = {
    remote: executors?.remote,
    pool: executors?.pool,
    cloud_pool: executors?.cloud_pool,
    a2a: executors?.a2a,
  };
  return byEnv[agent.env] ?? executeRun;
}

/**
 * Where an agent's runs execute. `in_process` runs here with the loop (`cloud_pool` too, holding a
 * warm sandbox through its executor); `remote` and `multi_agent` run through the executors plugged
 * in by the composition root (a `multi_agent` agent answers the spec it names); `pool` needs the
 * sandbox pool.
 */
export function routeByEnv(agent: Agent, executors: Executors): { id: string } | undefined {
  if (agent.env === 'in_process' || agent.env === 'cloud_shared') return undefined;
  if (agent.env === 'remote' && executors.remote) {
    if (!agent.runtime_url)
      throw new AppError('unprocessable', `agent ${agent.name} has env remote but no runtime_url`);
    return undefined;
  }
  if (agent.env === 'pool' && executors.pool) return undefined;
  if (agent.env === 'cloud_pool' && executors.cloud_pool) return undefined;
  if (agent.env === 'a2a' && executors.a2a) {
    if (!agent.runtime_url)
      throw new AppError(
        'unprocessable',
        `agent ${agent.name} has env a2a but no runtime_url (the remote agent card's URL)`,
      );
    return undefined;
  }
  if (agent.env === 'multi_agent' && executors.multi_agent) {
    if (!agent.multi_agent_id)
      throw new AppError('unprocessable', `agent ${agent.name} has env multi_agent but no multi_agent_id`);
    return { id: agent.multi_agent_id };
  }
  const why =
    agent.env === 'pool'
      ? 'runs in the sandbox pool (env pool), which is not available in this deployment yet'
      : `has env ${agent.env}, which this server cannot run yet`;
  throw new AppError('not_implemented', `agent ${agent.name} ${why}`);
}
