import { AgentVersionService } from '../agents/agent-versions.ts';
import { AgentService, type BudgetChanged } from '../agents/agents.ts';
import { MultiAgentService } from '../agents/multi-agents.ts';
import { TemplateService } from '../agents/templates.ts';
import { ApiKeyService } from '../auth/api-keys.ts';
import { Authenticator } from '../auth/authenticator.ts';
import { ConsoleSessionService } from '../auth/console-sessions.ts';
import { TenantService } from '../auth/tenants.ts';
import { pagiImportedKey } from '../config/compat-config.ts';
import type { Config } from '../config/config.ts';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import { SpanRate } from '../doors/otlp/span-rate.ts';
import { DatasetService } from '../eval/datasets/datasets.ts';
import { EvaluatorService } from '../eval/evaluators/named.ts';
import { LabelService } from '../eval/labels/labels.ts';
import { QueueService } from '../eval/queues/queues.ts';
import { ReviewService } from '../eval/queues/review.ts';
import { ScoreConfigService } from '../eval/scores/configs.ts';
import { FeedbackLimit } from '../eval/scores/feedback-limit.ts';
import { ScoreService } from '../eval/scores/scores.ts';
import type { LiveBus } from '../events/bus.ts';
import { DbCounterStore } from '../models/counters.ts';
import { StoredResponses } from '../models/stored-responses.ts';
import type { HealthRegistry } from '../observability/health.ts';
import type { Metrics } from '../observability/metrics.ts';
import { CallbackSecrets } from '../tasks/callback-secrets.ts';
import { HandlerRegistry } from '../tasks/handlers.ts';
import { QueueMetrics } from '../tasks/metrics.ts';
import type { QueueRunner } from '../tasks/runner.ts';
import { ScheduleService } from '../tasks/schedules.ts';
import { TaskService } from '../tasks/tasks.ts';
import { liveWorkers } from '../tasks/worker-presence.ts';

export interface DomainDeps {
  config: Config;
  db: Db;
  bus: LiveBus;
  metrics: Metrics;
  health: HealthRegistry;
  policies: TenantPolicies;
  /** The in-process queue, once started (the scheduler is woken through it). */
  queue: () => QueueRunner | undefined;
  /** Agents' own budgets changed: this process's gateway forgets them (others hear it on the bus). */
  agentBudgetsChanged?: BudgetChanged;
}

/** Bus topic: a schedule was created or changed, so the schedulers of the fleet look again. */
export const SCHEDULES_TOPIC = 'agentry_schedules';

/** Bus topic: agents' own budgets changed (`{tenant_id, names}`), so every gateway reads them again. */
export const AGENT_BUDGETS_TOPIC = 'agentry_agent_budgets';

/** Tenants, keys, agents and the task queue's API side: plain services over the store, nothing to close. */
export function buildDomain({
  config,
  db,
  bus,
  metrics,
  health,
  policies,
  queue,
  agentBudgetsChanged,
}: DomainDeps) {
  const tenants = new TenantService(db);
  // Values that are not Agentry keys are looked up only while one is imported (PAGI_API_KEY).
  const keys = new ApiKeyService(db, config.auth.key_cache_ms, pagiImportedKey(config) !== undefined);
  const consoleSessions = new ConsoleSessionService(
    db,
    config.auth.console_session_hours * 3_600_000,
    config.auth.key_cache_ms,
  );
  const templates = new TemplateService(db);
  const tenantName = async (id: string) => (await tenants.find(id))?.name ?? id;
  // The tenant policy's switch for outbound requests to private addresses (net/ssrf.ts).
  const allowPrivateEgress = async (tenantId: string) =>
    policies.get(await tenantName(tenantId)).network.allow_private_egress;
  const agents = new AgentService(
    db,
    templates,
    config.models.default_model,
    allowPrivateEgress,
    (tenantId, names) => {
      agentBudgetsChanged?.(tenantId, names);
      // Other processes read agents' budgets again within 5 s anyway (models/agent-budgets.ts).
      bus.publish(AGENT_BUDGETS_TOPIC, JSON.stringify({ tenant_id: tenantId, names })).catch(() => {});
    },
  );
  const tasks = new TaskService(db, bus, agents, policies);
  health.register('queue', {
    essential: false,
    run: async () => {
      const [facts, alive] = await Promise.all([tasks.health(), liveWorkers(db, config.tasks.lease_seconds)]);
      // Tasks that could run now and no worker process anywhere in the fleet to run them: the queue
      // is stopped, whatever this process's own role is.
      const stranded = facts.runnable > 0 && alive.processes === 0;
      return {
        status: stranded ? 'down' : 'ok',
        detail: {
          ...facts,
          // This process's own worker slots (0 in an API process); the fleet's are live_workers.
          workers: config.fleet.role === 'api' ? 0 : config.tasks.workers,
          live_workers: alive.processes,
          worker_slots: alive.slots,
          role: config.fleet.role,
          ...(stranded && { reason: 'tasks are waiting and no worker process is alive' }),
        },
      };
    },
  });
  const scoreConfigs = new ScoreConfigService(db);
  const datasets = new DatasetService(db);
  const scores = new ScoreService(db, scoreConfigs);
  const annotationQueues = new QueueService(db, scoreConfigs, datasets);
  const evaluators = new EvaluatorService(db);
  return {
    tenants,
    keys,
    consoleSessions,
    authenticator: new Authenticator(config.auth, keys, tenants, consoleSessions),
    templates,
    agents,
    agentVersions: new AgentVersionService(db, agents),
    multiAgents: new MultiAgentService(db, agents),
    datasets,
    evaluators,
    labels: new LabelService(db, agents, datasets, evaluators),
    scores,
    scoreConfigs,
    annotationQueues,
    reviews: new ReviewService(db, annotationQueues, scores, datasets),
    // In the database, where the model gateway's budgets count too (its sweep clears ended minutes).
    feedbackLimit: new FeedbackLimit(new DbCounterStore(db)),
    spanRate: new SpanRate(new DbCounterStore(db)),
    tasks,
    callbackSecrets: new CallbackSecrets(db),
    storedResponses: new StoredResponses(db),
    taskHandlers: new HandlerRegistry(),
    queueMetrics: new QueueMetrics(metrics.registry, db, metrics.scrapeErrors, () =>
      agents.declaredTaskTypes(),
    ),
    schedules: new ScheduleService(db, tasks, () => {
      const local = queue();
      if (local) local.scheduler.wake();
      // The schedulers of other processes (an API process has none of its own).
      bus.publish(SCHEDULES_TOPIC, '').catch(() => {});
    }),
    /** A tenant's name for logs and policies; its id when it has none (deleted meanwhile). */
    tenantName,
    allowPrivateEgress,
  };
}

export type Domain = ReturnType<typeof buildDomain>;
