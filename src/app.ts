import type { FastifyInstance } from 'fastify';
import { seedOpsTeam } from './agents/packs-ops-team.ts';
import { bootstrap, syncPagiKey } from './auth/bootstrap.ts';
import { Closers } from './compose/closers.ts';
import { AGENT_BUDGETS_TOPIC, buildDomain } from './compose/domain.ts';
import { buildEval } from './compose/eval.ts';
import { buildRuntime } from './compose/runtime.ts';
import { startServing } from './compose/serving.ts';
import { openStore, storeHealth } from './compose/store.ts';
import { buildTools } from './compose/tools.ts';
import { pagiImportedKey } from './config/compat-config.ts';
import type { Config } from './config/config.ts';
import { TenantPolicies } from './config/tenant-policy.ts';
import type { Db } from './db/db.ts';
import { TraceIngest } from './doors/otlp/ingest.ts';
import type { LiveScoring } from './eval/live/live-scoring.ts';
import { JournalService } from './events/journal-service.ts';
import type { Services } from './http/services.ts';
import type { AgentBudgets } from './models/agent-budgets.ts';
import { createModelGateway } from './models/create-gateway.ts';
import { OfflineEncoder } from './models/offline-encoder/offline-encoder.ts';
import type { OutboundNetwork } from './net/outbound.ts';
import { HealthRegistry } from './observability/health.ts';
import { registerHealthGauge } from './observability/health-gauge.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { startTracing } from './observability/tracing.ts';
import { liveRunOf } from './runtime/eval-ports.ts';
import type { QueueRunner } from './tasks/runner.ts';
import type { ToolDefinition } from './tools/types.ts';
import { version } from './version.ts';

export interface App {
  services: Services;
  /** The store itself: for the composition's own parts (the queue) and for tests that set its state. */
  db: Db;
  http: FastifyInstance;
  /** The admin key created by this start, when it was the very first one. */
  adminKey?: string;
  defaultTenantId: string;
  /** Closes the HTTP server, then everything below it. Safe to call twice. */
  close(): Promise<void>;
}

export interface CreateAppOptions {
  log?: Logger;
  /** DNS and routing for the guarded outbound client: tests stand in a fake internet; production sets none. */
  network?: OutboundNetwork;
  /** With no tenants file configured, where one created later is picked up on reload (SIGHUP). */
  tenantsFileLater?: string;
  /** Called for each migration applied, for progress output. */
  onMigration?: (name: string) => void;
  /** Tools of the embedding program, registered before the runtime starts (and takes runs over). */
  tools?: ToolDefinition[];
}

/**
 * The composition root: one builder per area (store, domain services, models, tools, runtime, the
 * serving part), each registering what it opens on one stack of closers. Shutdown closes that
 * stack in reverse; so does a start that fails halfway, before it rethrows the cause.
 */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.log_level);
  // Read tenants.yaml before touching the store: a bad file stops the start with file:line:field.
  const policies = new TenantPolicies(config.tenants_file, undefined, options.tenantsFileLater);
  const closers = new Closers(log);
  // Once per process, from the OTEL_* variables (nothing is registered when none is set); closed
  // last, so the spans of everything else's shutdown are exported too.
  const tracing = await startTracing(process.env, log, {
    postgres: Boolean(config.store.database_url),
    redis: Boolean(config.redis_url),
  });
  closers.add('tracing', () => tracing.flush());
  try {
    const { db, bus } = await openStore(config, log, closers, options.onMigration);
    const metrics = new Metrics(db);
    const health = new HealthRegistry();
    registerHealthGauge(metrics.registry, health);
    let queue: QueueRunner | undefined;
    let agentBudgets: AgentBudgets | undefined;
    const domain = buildDomain({
      config,
      db,
      bus,
      metrics,
      health,
      policies,
      queue: () => queue,
      agentBudgetsChanged: (tenantId, names) => agentBudgets?.forget(tenantId, names),
    });

    // Its threads start on the first embedding; closed after everything that embeds (the gateway,
    // the runtime and its ingests).
    const offlineEncoder = new OfflineEncoder(config.models.offline_encoder);
    closers.add('offline encoder', () => offlineEncoder.close());
    const modelGateway = createModelGateway({
      offlineEncoder,
      config,
      db,
      log,
      metrics,
      health,
      policies,
      agentBudget: (tenantId, name) => domain.agents.budgetOf(tenantId, name),
    });
    // After the queue and the runtime: running tasks may still call models; this writes their usage.
    closers.add('model gateway', () => modelGateway.close());
    const models = modelGateway.gateway;
    agentBudgets = modelGateway.agentBudgets;
    // An admin changed an agent's own budget through another process: read it again at the next call.
    closers.add(
      'agent budget changes',
      await bus.subscribe(AGENT_BUDGETS_TOPIC, (message) => {
        const { tenant_id, names } = JSON.parse(message) as { tenant_id: string; names: string[] };
        agentBudgets?.forget(tenant_id, names);
      }),
    );

    const { tenantName, agents, tasks } = domain;
    const toolset = await buildTools(
      {
        config,
        version,
        db,
        log,
        metrics,
        health,
        policies,
        agents,
        tasks,
        tenantName,
        network: options.network,
      },
      closers,
    );
    for (const tool of options.tools ?? []) toolset.tools.register(tool);
    // Built after the runtime (they run items through it), told of the runtime's ended runs.
    let liveScoring: LiveScoring | undefined;
    const { runtime, runner, sessions, memory, generator, a2aPush, a2aTasks } = await buildRuntime({
      onRunEnd: (ended) => liveScoring?.onRunEnd(liveRunOf(ended)),
      config,
      db,
      bus,
      log,
      metrics: metrics.agents,
      domain,
      models,
      tools: toolset.tools,
      multiAgents: domain.multiAgents,
      deployments: toolset.deployments,
      agentSandboxes: toolset.agentSandboxes,
      sandboxes: toolset.sandboxes,
      network: options.network,
      a2aRemotes: toolset.a2aRemotes,
      offlineEncoder,
    });
    // Background batch ingests finish before the store closes (closers run newest first).
    closers.add('memory ingests', () => memory.ingests.settle());
    const evaluation = buildEval({
      db,
      bus,
      metrics,
      agents,
      multiAgents: domain.multiAgents,
      datasets: domain.datasets,
      namedEvaluators: domain.evaluators,
      runner,
      models,
      sandboxes: toolset.sandboxes,
      taskHandlers: domain.taskHandlers,
      tenantName,
      log,
      liveSampleRate: config.eval.live_sample_rate,
      queue: {
        leaseSeconds: config.tasks.lease_seconds,
        tenantMaxRunning: config.tasks.tenant_max_running,
      },
    });
    liveScoring = evaluation.liveScoring;
    storeHealth(health, db, bus);

    // Vector search off is a choice, not a fault: the component is `off` (grey) and says how to turn it on.
    health.register('vector_search', {
      essential: false,
      run: async () => {
        const v = memory.vectorSearch;
        return v.state === 'off'
          ? { status: 'off', detail: { ...v, reason: `off: ${v.how}` } }
          : { detail: v };
      },
    });

    const boot = await bootstrap(db, domain.tenants, domain.keys);
    // The variable as it is at an API process's start is the key's truth (docs/compat.md); a worker
    // serves no PAGI route and may run without it.
    if (config.fleet.role !== 'worker') {
      const pagi = await syncPagiKey(domain.keys, boot.tenantId, pagiImportedKey(config));
      if (pagi.created)
        log.info({ prefix: pagi.created.prefix }, 'PAGI_API_KEY imported as a pagi-scope key');
      for (const old of pagi.revoked) log.info({ prefix: old.prefix }, 'earlier PAGI_API_KEY revoked');
    }
    // A fresh install starts with the operations team (only when the default tenant was just created,
    // so an agent someone deleted is not brought back on the next start).
    if (boot.adminKey && config.ops_team.seed) await seedOpsTeam(agents, boot.tenantId);
    const { tenantName: _, allowPrivateEgress: __, ...services } = domain;
    const all: Services = {
      config,
      version,
      log,
      storeLoad: () => db.poolStats(),
      journal: new JournalService(db),
      bus,
      metrics,
      health,
      policies,
      ...services,
      models,
      ...toolset,
      runtime,
      sessions,
      a2aPush,
      a2aTasks,
      generator,
      memory,
      traces: new TraceIngest(
        db,
        (model, provider, usage) => models.catalog.costByName(model, provider, usage),
        evaluation.liveScoring.onRunEnd,
      ),
      ...evaluation,
    };
    const http = await startServing(all, db, closers, options.network);
    queue = all.queue;
    return {
      services: all,
      db,
      http,
      adminKey: boot.adminKey,
      defaultTenantId: boot.tenantId,
      close: () => closers.closeAll(),
    };
  } catch (err) {
    await closers.closeAll();
    throw err;
  }
}
