import type { AgentService } from '../agents/agents.ts';
import type { MultiAgentService } from '../agents/multi-agents.ts';
import type { Db } from '../db/db.ts';
import type { DatasetService } from '../eval/datasets/datasets.ts';
import type { EvaluatorResolver } from '../eval/evaluators/named.ts';
import type { EvalDeps } from '../eval/evaluators/types.ts';
import { EXPERIMENT_TASK_TYPE, ExperimentService } from '../eval/experiments/experiments.ts';
import { experimentLaneHandler } from '../eval/experiments/lane.ts';
import { LiveScoring } from '../eval/live/live-scoring.ts';
import { EvalMetrics } from '../eval/metrics.ts';
import type { LiveBus } from '../events/bus.ts';
import { announce } from '../events/log.ts';
import type { Gateway } from '../models/gateway.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { AgentRunner } from '../runtime/agent-runner.ts';
import { itemRunner } from '../runtime/eval-ports.ts';
import type { HandlerRegistry } from '../tasks/handlers.ts';
import { tenantSlots } from '../tasks/worker-presence.ts';
import type { SandboxService } from '../tools/sandbox/sandbox.ts';

export interface EvalBuildDeps {
  db: Db;
  bus: LiveBus;
  metrics: Metrics;
  agents: AgentService;
  /** Teams an experiment may run instead of one agent. */
  multiAgents: MultiAgentService;
  datasets: DatasetService;
  /** Named evaluators, which experiments pin and live scoring follows. */
  namedEvaluators: EvaluatorResolver;
  /** Runs each item's agent or team, as queued tasks run theirs. */
  runner: AgentRunner;
  models: Gateway;
  sandboxes: SandboxService;
  taskHandlers: HandlerRegistry;
  tenantName(tenantId: string): Promise<string>;
  log: Logger;
  /** `eval.live_sample_rate`: the share of live runs scored when an attachment names none. */
  liveSampleRate: number;
  /** `tasks.lease_seconds` (a worker unseen this long is dead) and `tasks.tenant_max_running` (0: no cap). */
  queue: { leaseSeconds: number; tenantMaxRunning: number };
}

/**
 * Experiments and what they run on: the lane handler on the queue, the runtime's agent runner for
 * each item, the gateway for judges and the QuickJS sandbox for custom evaluators.
 */
export function buildEval(deps: EvalBuildDeps) {
  const evalMetrics = new EvalMetrics(deps.metrics.registry);
  // An experiment's stream followers wake on the bus; a lost announcement costs them one slow poll.
  const announceExperiment = (id: string) => void announce(deps.bus, [id]).catch(() => {});
  const evalDeps: EvalDeps = {
    models: deps.models,
    embed: (request, ctx) => deps.models.embed(request, ctx),
    runJavascript: (request) => deps.sandboxes.run('evaluator', 'quickjs', request),
  };
  deps.taskHandlers.register(
    { taskType: EXPERIMENT_TASK_TYPE },
    experimentLaneHandler({
      db: deps.db,
      runner: itemRunner(deps.runner, deps.models.catalog),
      evalDeps,
      tenantName: deps.tenantName,
      announce: announceExperiment,
      observe: evalMetrics,
    }),
  );
  return {
    experiments: new ExperimentService(
      deps.db,
      deps.datasets,
      deps.agents,
      deps.multiAgents,
      deps.bus,
      announceExperiment,
      () => tenantSlots(deps.db, deps.queue),
      {
        // An unknown model is a 404 when the experiment is created, not an error on every item.
        checkModel: (model) => void deps.models.catalog.resolve(model),
        outputs: { evalDeps, tenantName: deps.tenantName, observe: evalMetrics },
      },
      deps.namedEvaluators,
    ),
    liveScoring: new LiveScoring(deps.db, evalDeps, deps.namedEvaluators, deps.liveSampleRate, deps.log),
  };
}
