import type { AgentService } from '../agents/agents.ts';
import type { MultiAgentService } from '../agents/multi-agents.ts';
import type { Db } from '../db/db.ts';
import type { DatasetService } from '../eval/datasets/datasets.ts';
import type { EvaluatorResolver } from '../eval/evaluators/named.ts';
import type { EvalDeps } from '../eval/evaluators/types.ts';
import { EXPERIMENT_TASK_TYPE, ExperimentService } from '../eval/experiments/experiments.ts';
import {
  experimentLaneHandler,
  type ItemRun,
  type ItemRunner,
  type ItemRunRequest,
} from '../eval/experiments/lane.ts';
import { LiveScoring } from '../eval/live/live-scoring.ts';
import { EvalMetrics } from '../eval/metrics.ts';
import type { LiveBus } from '../events/bus.ts';
import { announce } from '../events/log.ts';
import type { Gateway } from '../models/gateway.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { DEFAULT_TASK_TEMPLATE, renderTaskPrompt } from '../runtime/runs/task-handler.ts';
import type { RunHandle, Runtime } from '../runtime/runtime.ts';
import type { EndedRun } from '../runtime/types.ts';
import type { HandlerRegistry } from '../tasks/handlers.ts';
import { liveWorkers } from '../tasks/worker-presence.ts';
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
  runtime: Runtime;
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
 * Experiments and what they run on: the lane handler on the queue, the runtime running each item
 * (eval sits below the runtime, so the runner is plugged in here), the gateway for judges and the
 * QuickJS sandbox for custom evaluators.
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
      runner: itemRunner(deps),
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
      () => laneCapacity(deps),
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

/**
 * The lanes that can run at once: the slots of the workers alive across the fleet, under the
 * tenant's cap; null with no worker alive (the experiment waits for one, as /health says).
 */
async function laneCapacity({ db, queue }: EvalBuildDeps): Promise<number | null> {
  const { slots } = await liveWorkers(db, queue.leaseSeconds);
  if (slots === 0) return null;
  return queue.tenantMaxRunning > 0 ? Math.min(slots, queue.tenantMaxRunning) : slots;
}

/** A run's end as the live evaluators read it. */
export const liveRunOf = (e: EndedRun) => ({
  tenantId: e.tenantId,
  tenantName: e.tenantName,
  agentId: e.agentId,
  runId: e.runId,
  input: e.input,
  output: e.result.status === 'completed' ? e.result.text : null,
  status: e.result.status,
  toolCalls:
    'toolCalls' in e.result ? e.result.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })) : [],
  tokens: e.result.usage.total_tokens,
  durationMs: e.durationMs,
  idempotencyKey: e.idempotencyKey,
});

/**
 * Runs one experiment item as a run of the agent. An item an earlier attempt of its lane died on
 * follows the run that attempt started (found by the item's key, which the statement that starts a
 * run records with it; another process takes the run over), so a crash never pays for an item twice.
 */
function itemRunner(deps: EvalBuildDeps): ItemRunner {
  return {
    async run(req): Promise<ItemRun> {
      const started = performance.now();
      const handle =
        (req.resumed ? await deps.runtime.runOfKey(req.tenantId, req.idempotencyKey) : undefined) ??
        (await startItemRun(deps, req));
      const result = await handle.result();
      const latencyMs = performance.now() - started;
      const tokens = result.usage.total_tokens;
      if (result.status === 'completed') {
        // A model the catalog has no price for (the mock, an agent as a model) costs nothing here.
        let costUsd = 0;
        try {
          costUsd = deps.models.catalog.cost(deps.models.catalog.resolve(result.model), result.usage);
        } catch {
          // No price for it (see above): the item costs 0.
        }
        return {
          runId: handle.runId,
          status: 'completed',
          output: result.text,
          toolCalls: result.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })),
          tokens,
          costUsd,
          latencyMs,
        };
      }
      return {
        runId: handle.runId,
        status: result.status,
        output: null,
        toolCalls:
          result.status === 'input_required'
            ? result.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }))
            : [],
        tokens,
        costUsd: 0,
        latencyMs,
        error:
          result.status === 'input_required'
            ? { code: 'input_required', message: 'the run waits for approval of a tool call' }
            : result.error,
      };
    },
  };
}

/** Starts an item's run: a chat message, or a task's prompt as the queue would render it. */
async function startItemRun(
  { agents, multiAgents, runtime }: EvalBuildDeps,
  req: ItemRunRequest,
): Promise<RunHandle> {
  let agentId = req.agentId;
  let version = req.agentVersion ?? undefined;
  let multiAgent: { id: string } | undefined;
  if (req.teamId) {
    // The team as it is now, run as its run route does: owned by its entry agent at the spec's pin.
    const team = await multiAgents.get(req.tenantId, req.teamId);
    agentId = team.entry_agent_id;
    version = team.member_versions[agentId];
    multiAgent = { id: team.id };
  }
  let message: string;
  if ('message' in req.input) message = req.input.message;
  else {
    // The task type's template as at the pinned version: a prompt change is what is being tested.
    const agent = await agents.at(req.tenantId, agentId, version);
    const type = agent.task_types.find((t) => t.name === (req.input as { task_type: string }).task_type);
    message = renderTaskPrompt(type?.prompt_template ?? DEFAULT_TASK_TEMPLATE, {
      title: req.input.title ?? '',
      description: '',
      task_type: req.input.task_type,
      payload: req.input.payload ?? {},
    });
  }
  return runtime.run(
    {
      tenantId: req.tenantId,
      tenantName: req.tenantName,
      traceId: req.trace?.traceId,
      parentSpanId: req.trace?.spanId,
      traceState: req.trace?.traceState,
    },
    agentId,
    {
      message,
      ...(version !== undefined && { agent_version: version }),
      ...(multiAgent && { multiAgent }),
      stream: false,
      multitask: 'reject',
      on_disconnect: 'continue',
      idempotencyKey: req.idempotencyKey,
    },
  );
}
