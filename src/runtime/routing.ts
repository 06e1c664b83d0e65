import type { Agent, AgentEnv } from '../agents/schema.ts';
import { AppError } from '../errors.ts';
import { executeRun } from './loop/execute.ts';
import { RunWriter } from './runs/end.ts';
import type { RunOptions } from './runs/rows.ts';
import type { Executor, Executors } from './types.ts';

/** Where the runs of an agent env execute, and what such an agent must have first. */
interface Route {
  /** Its executor, of those this deployment plugged in (undefined: none here). */
  executor(plugged: Executors): Executor | undefined;
  /** Refuses an agent that cannot run so; answers the multi-agent spec the agent's runs answer. */
  check?(agent: Agent): { id: string } | undefined;
  /** Why an agent of this env cannot run when its executor is not plugged in. */
  absent?: string;
}

const needsRuntimeUrl =
  (env: AgentEnv, what = '') =>
  (agent: Agent) => {
    if (!agent.runtime_url)
      throw new AppError('unprocessable', `agent ${agent.name} has env ${env} but no runtime_url${what}`);
    return undefined;
  };

/**
 * The executor of every agent env: adding an env to `agentEnvs` does not compile until it has its
 * entry here. `in_process` and `cloud_shared` (isA's name for it) run here with the loop; the others
 * run through the executors plugged in by the composition root (`src/compose/runtime.ts`).
 */
export const routes: Record<AgentEnv, Route> = {
  in_process: { executor: () => executeRun },
  cloud_shared: { executor: () => executeRun },
  /** The loop, holding a sandbox of the tools' warm pool for the run. */
  cloud_pool: { executor: (plugged) => plugged.cloud_pool },
  /** Local-dev agents: their deployed bundle's handle in a sandbox. */
  pool: {
    executor: (plugged) => plugged.pool,
    absent: 'runs in the sandbox pool (env pool), which is not available in this deployment yet',
  },
  /** An HTTP runtime at `runtime_url`. */
  remote: { executor: (plugged) => plugged.remote, check: needsRuntimeUrl('remote') },
  /** A remote A2A agent: `runtime_url` is its card's URL. */
  a2a: {
    executor: (plugged) => plugged.a2a,
    check: needsRuntimeUrl('a2a', " (the remote agent card's URL)"),
  },
  /** A team: the agent answers the multi-agent spec it names. */
  multi_agent: {
    executor: (plugged) => plugged.multi_agent,
    check: (agent) => {
      if (!agent.multi_agent_id)
        throw new AppError('unprocessable', `agent ${agent.name} has env multi_agent but no multi_agent_id`);
      return { id: agent.multi_agent_id };
    },
  },
};

/** Why `agent` cannot run as `env` here: its executor is not plugged in. */
function absent(agent: Agent, env: AgentEnv): AppError {
  const why = routes[env].absent ?? `has env ${env}, which this server cannot run yet`;
  return new AppError('not_implemented', `agent ${agent.name} ${why}`);
}

/**
 * The executor of a run: its spec's team when it runs one (POST /v1/multi-agents/:id/run), else its
 * agent env's. One not plugged in here (a run taken over by a process without it) fails the run.
 */
export function executorFor(agent: Agent, options: RunOptions, plugged: Executors = {}): Executor {
  const env = options.multi_agent ? 'multi_agent' : agent.env;
  return routes[env].executor(plugged) ?? ((deps, run) => new RunWriter(deps, run).fail(absent(agent, env)));
}

/**
 * Checks, before a run of `agent` starts, that it can run here (its executor plugged in, what its
 * env needs of it set); answers the multi-agent spec its runs answer, if any.
 */
export function routeByEnv(agent: Agent, plugged: Executors): { id: string } | undefined {
  const route = routes[agent.env];
  if (!route.executor(plugged)) throw absent(agent, agent.env);
  return route.check?.(agent);
}
