import type { FastifyInstance } from 'fastify';
import type { AgentService } from './agents/agents.ts';
import type { DeploymentService } from './agents/local-dev/deployments.ts';
import type { MultiAgentService } from './agents/multi-agents.ts';
import { seedOpsTeam } from './agents/packs-ops-team.ts';
import type { TemplateService } from './agents/templates.ts';
import type { ApiKeyService } from './auth/api-keys.ts';
import type { Authenticator } from './auth/authenticator.ts';
import { bootstrap } from './auth/bootstrap.ts';
import type { TenantService } from './auth/tenants.ts';
import { Closers } from './compose/closers.ts';
import { AGENT_BUDGETS_TOPIC, buildDomain } from './compose/domain.ts';
import { buildRuntime } from './compose/runtime.ts';
import { startServing } from './compose/serving.ts';
import { openStore, storeHealth } from './compose/store.ts';
import { buildTools } from './compose/tools.ts';
import type { Config } from './config/config.ts';
import { TenantPolicies } from './config/tenant-policy.ts';
import type { Db } from './db/db.ts';
import type { LiveBus } from './events/bus.ts';
import type { PushNotifier } from './interop/a2a/push.ts';
import type { Memory } from './memory/memory.ts';
import type { AgentBudgets } from './models/agent-budgets.ts';
import { createModelGateway } from './models/create-gateway.ts';
import type { Gateway } from './models/gateway.ts';
import type { OutboundNetwork } from './net/outbound.ts';
import { HealthRegistry } from './observability/health.ts';
import { registerHealthGauge } from './observability/health-gauge.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { startTracing } from './observability/tracing.ts';
import type { A2ARemotes } from './runtime/a2a-remote.ts';
import type { AgentGenerator } from './runtime/generator.ts';
import type { AgentSandboxes } from './runtime/local-dev/sandboxes.ts';
import type { PoolInstances } from './runtime/pool-instances.ts';
import type { Runtime } from './runtime/runtime.ts';
import type { SessionService } from './runtime/sessions.ts';
import type { CallbackSecrets } from './tasks/callback-secrets.ts';
import type { HandlerRegistry } from './tasks/handlers.ts';
import type { QueueMetrics } from './tasks/metrics.ts';
import type { QueueRunner } from './tasks/runner.ts';
import type { ScheduleService } from './tasks/schedules.ts';
import type { TaskService } from './tasks/service.ts';
import type { McpManager } from './tools/mcp/manager.ts';
import type { McpServerStore } from './tools/mcp/servers.ts';
import type { ToolRegistry } from './tools/registry.ts';
import type { EgressProxy } from './tools/sandbox/egress-proxy.ts';
import type { FleetStats } from './tools/sandbox/fleet-stats.ts';
import type { SandboxService } from './tools/sandbox/service.ts';
import type { ToolDefinition } from './tools/types.ts';
import { version } from './version.ts';

/** Everything the front doors (HTTP routes, CLI) call. Built once, in one place. */
export interface Services {
  config: Config;
  version: string;
  log: Logger;
  db: Db;
  bus: LiveBus;
  metrics: Metrics;
  health: HealthRegistry;
  /** tenants.yaml: routing, budgets, rate limits, fail_open; reloaded on SIGHUP. */
  policies: TenantPolicies;
  tenants: TenantService;
  keys: ApiKeyService;
  authenticator: Authenticator;
  templates: TemplateService;
  agents: AgentService;
  multiAgents: MultiAgentService;
  /** The task queue's API side: enqueue, read, cancel, retry, external reports, queue status. */
  tasks: TaskService;
  schedules: ScheduleService;
  callbackSecrets: CallbackSecrets;
  /** Task handlers by agent and task type; the default one runs the agent. */
  taskHandlers: HandlerRegistry;
  queueMetrics: QueueMetrics;
  /** The in-process workers, scheduler and callback sender; absent with `tasks.workers: 0`. */
  queue?: QueueRunner;
  /** The model gateway: every model call (agents, tasks, /v1/chat/completions) goes through it. */
  models: Gateway;
  /** Tools agents may call, by name (built-ins now). */
  tools: ToolRegistry;
  /** The agent runtime: chat runs, approval, cancellation, streams, orphan recovery. */
  runtime: Runtime;
  sessions: SessionService;
  /** A2A push notifications for the tasks served at /a2a/{agent}. */
  a2aPush: PushNotifier;
  /** Calls to remote A2A agents (env a2a, a2a tools). */
  a2aRemotes: A2ARemotes;
  /** Designs agents (or a team) from a plain-language requirement. */
  generator: AgentGenerator;
  /** Sandboxed execution: a warm pool per backend (bwrap, quickjs) and per-tool circuit breakers. */
  sandboxes: SandboxService;
  /** Local-dev agents: their deployed bundles, and the sandboxes their handle runs in. */
  deployments: DeploymentService;
  agentSandboxes: AgentSandboxes;
  /** The warm pools' stats summed over the fleet (Redis), or this process's alone. */
  fleetStats: FleetStats;
  /** Warm-pool sandboxes held for a caller until released or idle (isA's pool routes). */
  poolInstances: PoolInstances;
  /** Knowledge bases: documents, chunks, hybrid search. */
  memory: Memory;
  /** MCP tool servers tenants register (rows), and their connections and tools in this process. */
  mcpServers: McpServerStore;
  mcp: McpManager;
  /** The egress proxy: per-tenant Unix sockets, domain allowlist, credential injection. */
  egress: EgressProxy;
}

export interface App {
  services: Services;
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
  const policies = new TenantPolicies(config.tenants_file);
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

    const modelGateway = createModelGateway({
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
    const { runtime, sessions, memory, generator, a2aPush } = await buildRuntime({
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
    });
    // Background batch ingests finish before the store closes (closers run newest first).
    closers.add('memory ingests', () => memory.ingests.settle());
    storeHealth(health, db, bus);

    // Vector search off is a choice, not a fault: the component stays `ok` and says how to turn it on.
    health.register('vector_search', {
      essential: false,
      run: async () => ({ detail: memory.vectorSearch }),
    });

    const boot = await bootstrap(db, domain.tenants, domain.keys);
    // A fresh install starts with the operations team (only when the default tenant was just created,
    // so an agent someone deleted is not brought back on the next start).
    if (boot.adminKey && config.ops_team.seed) await seedOpsTeam(agents, boot.tenantId);
    const { tenantName: _, allowPrivateEgress: __, ...services } = domain;
    const all: Services = {
      config,
      version,
      log,
      db,
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
      generator,
      memory,
    };
    const http = await startServing(all, closers, options.network);
    queue = all.queue;
    return {
      services: all,
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
