import type { FastifyInstance } from 'fastify';
import { AgentService } from './agents/agents.ts';
import { DeploymentService } from './agents/local-dev/deployments.ts';
import { MultiAgentService } from './agents/multi-agents.ts';
import { seedOpsTeam } from './agents/packs-ops-team.ts';
import { TemplateService } from './agents/templates.ts';
import { ApiKeyService } from './auth/api-keys.ts';
import { Authenticator } from './auth/authenticator.ts';
import { bootstrap } from './auth/bootstrap.ts';
import { TenantService } from './auth/tenants.ts';
import type { Config } from './config/config.ts';
import { TenantPolicies } from './config/tenant-policy.ts';
import type { Db } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { openDb } from './db/open.ts';
import { type LiveBus, LocalBus, PgNotifyBus } from './events/bus.ts';
import { buildHttp } from './http/build.ts';
import { GatewayEmbedder, OfflineEmbedder } from './memory/embeddings.ts';
import { Memory } from './memory/memory.ts';
import { createModelGateway } from './models/create-gateway.ts';
import type { Gateway } from './models/gateway.ts';
import type { OutboundNetwork } from './net/outbound.ts';
import { HealthRegistry } from './observability/health.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { LoopMemory } from './runtime/context.ts';
import { multiAgentExecutor } from './runtime/multi-agent.ts';
import { poolAdmission, poolExecutor } from './runtime/pool-agent/executor.ts';
import { AgentSandboxes } from './runtime/pool-agent/sandboxes.ts';
import { RemoteRuntimes, remoteExecutor } from './runtime/remote.ts';
import { Runtime } from './runtime/runtime.ts';
import { SessionService } from './runtime/sessions.ts';
import { agentTaskHandler } from './runtime/task-handler.ts';
import { CallbackSecrets } from './tasks/callback-secrets.ts';
import { HandlerRegistry } from './tasks/handlers.ts';
import { QueueMetrics } from './tasks/metrics.ts';
import { QueueRunner } from './tasks/runner.ts';
import { ScheduleService } from './tasks/schedules.ts';
import { TaskService } from './tasks/service.ts';
import { registerBuiltinTools, registerOpsTools } from './tools/builtins/index.ts';
import { webCrawlTool, webSearchTool } from './tools/builtins/web.ts';
import { McpManager } from './tools/mcp/manager.ts';
import { TenantToolRegistry } from './tools/mcp/registry.ts';
import { McpServerStore } from './tools/mcp/servers.ts';
import type { ToolRegistry } from './tools/registry.ts';
import { EgressProxy } from './tools/sandbox/egress-proxy.ts';
import { SandboxService } from './tools/sandbox/service.ts';
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
  /** Sandboxed execution: a warm pool per backend (bwrap, quickjs) and per-tool circuit breakers. */
  sandboxes: SandboxService;
  /** Local-dev agents: their deployed bundles, and the sandboxes their handle runs in. */
  deployments: DeploymentService;
  agentSandboxes: AgentSandboxes;
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
}

/** The composition root: opens the store, migrates it, and wires every service to its dependencies. */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.log_level);
  // Read tenants.yaml before touching the store: a bad file stops the start with file:line:field.
  const policies = new TenantPolicies(config.tenants_file);
  const db = await openDb(config.store, log);
  try {
    await migrate(db, (m) => options.onMigration?.(`${String(m.version).padStart(4, '0')}_${m.name}`));
    const bus: LiveBus = db.kind === 'postgres' ? new PgNotifyBus(db) : new LocalBus();
    const metrics = new Metrics(db);
    const health = new HealthRegistry();
    const tenants = new TenantService(db);
    const keys = new ApiKeyService(db, config.auth.key_cache_ms);
    const authenticator = new Authenticator(config.auth, keys, tenants);
    const templates = new TemplateService(db);
    const tenantName = async (id: string) => (await tenants.find(id))?.name ?? id;
    // The tenant policy's switch for outbound requests to private addresses (net/ssrf.ts).
    const allowPrivateEgress = async (tenantId: string) =>
      policies.get(await tenantName(tenantId)).network.allow_private_egress;
    const agents = new AgentService(db, templates, config.models.default_model, allowPrivateEgress);
    const multiAgents = new MultiAgentService(db, agents);
    const tasks = new TaskService(db, bus, agents, policies);
    const callbackSecrets = new CallbackSecrets(db);
    const taskHandlers = new HandlerRegistry();
    const queueMetrics = new QueueMetrics(metrics.registry, db);
    let queue: QueueRunner | undefined;
    const schedules = new ScheduleService(db, tasks, () => queue?.scheduler.wake());
    health.register('queue', {
      essential: false,
      run: async () => ({ detail: { ...(await tasks.health()), workers: config.tasks.workers } }),
    });
    const modelGateway = createModelGateway({ config, db, log, metrics, health, policies });
    const models = modelGateway.gateway;
    const sandboxes = new SandboxService({ config: config.sandbox, log, health, registry: metrics.registry });
    await sandboxes.start();
    const agentSandboxes = new AgentSandboxes(config.sandbox, log);
    const deployments = new DeploymentService(db, agents, agentSandboxes);
    health.register('agent_sandboxes', { essential: false, run: () => agentSandboxes.healthReport() });
    const egress = new EgressProxy({
      config: config.egress,
      policies,
      tenantName,
      log,
      network: options.network,
    });
    const policyFor = (tenantId: string) => egress.policyFor(tenantId);
    const mcpServers = new McpServerStore({
      db,
      policyFor,
      maxPerTenant: config.mcp.max_servers_per_tenant,
      // Declared below; only called on a deletion, long after start-up.
      onDelete: (row) => mcp.forget(row),
    });
    const mcp = new McpManager({
      store: mcpServers,
      config: config.mcp,
      sandboxes,
      policyFor,
      network: options.network,
      breaker: config.sandbox.breaker,
      health,
      version,
      egressBind: (tenantId) => egress.sandboxBind(tenantId),
    });
    const tools = registerBuiltinTools(
      new TenantToolRegistry(
        { defaultTimeoutMs: config.runtime.tool_timeout_ms },
        sandboxes,
        config.sandbox.limits.timeout_ms,
        { mcp, tools: [webCrawlTool(egress, config.egress), webSearchTool(egress, config.egress)] },
      ),
    );
    // Read-only tools for agents that watch this deployment (the operations team).
    registerOpsTools(tools, {
      db,
      health: () => health.report(),
      recentTasks: async (tenantId, limit) => (await tasks.list(tenantId, { limit, offset: 0 })).data,
    });
    const runtime = new Runtime({
      db,
      bus,
      log,
      agents,
      models,
      tools,
      config: config.runtime,
      tenantName,
      // The memory module is opened further down; the loop reads it when a run starts.
      memory: new LoopMemory({
        db,
        memory: () => memory,
        settings: {
          historyTokens: config.memory.history_tokens,
          retrievalTopK: config.memory.retrieval_top_k,
          personaTokens: config.memory.persona_tokens,
        },
        log,
      }),
      executors: {
        multi_agent: multiAgentExecutor({ specs: multiAgents, agents }),
        remote: remoteExecutor(new RemoteRuntimes(undefined, options.network), allowPrivateEgress),
        pool: poolExecutor(deployments, agentSandboxes),
      },
      admit: poolAdmission(deployments),
    });
    const sessions = new SessionService(db, (tenantId, sessionId) => runtime.workspace(tenantId, sessionId));
    // The queue's default handler runs the agent loop; the queue itself knows nothing of agents or models.
    taskHandlers.setDefault(agentTaskHandler({ agents, runtime, tenantName }));

    health.register('store', {
      essential: true,
      run: async () => {
        await db.query('select 1');
        return { detail: { kind: db.kind, ...db.poolStats() } };
      },
    });
    health.register('live_bus', {
      essential: false,
      run: async () => {
        await bus.ping();
        return { detail: { kind: bus.kind } };
      },
    });

    const memory = await Memory.open(db, {
      chunking: { maxChars: config.memory.chunk_chars, overlapChars: config.memory.overlap_chars },
      maxDocumentBytes: config.memory.max_document_bytes,
      vectorCacheChunks: config.memory.vector_cache_chunks,
      embedder: {
        none: undefined,
        offline: new OfflineEmbedder(),
        gateway: new GatewayEmbedder(models, config.memory.embeddings.model ?? ''),
      }[config.memory.embeddings.provider],
    });

    const boot = await bootstrap(db, tenants, keys);
    // A fresh install starts with the operations team (only when the default tenant was just created,
    // so an agent someone deleted is not brought back on the next start).
    if (boot.adminKey && config.ops_team.seed) await seedOpsTeam(agents, boot.tenantId);
    const services: Services = {
      config,
      version,
      log,
      db,
      bus,
      metrics,
      health,
      policies,
      tenants,
      keys,
      authenticator,
      templates,
      agents,
      multiAgents,
      tasks,
      schedules,
      callbackSecrets,
      taskHandlers,
      queueMetrics,
      models,
      tools,
      runtime,
      sessions,
      sandboxes,
      deployments,
      agentSandboxes,
      memory,
      mcpServers,
      mcp,
      egress,
    };
    const http = await buildHttp(services, log);
    await runtime.start();
    if (config.tasks.workers > 0) {
      queue = new QueueRunner({
        db,
        bus,
        log,
        handlers: taskHandlers,
        metrics: queueMetrics,
        tasks: config.tasks,
        policies,
        secrets: callbackSecrets,
        network: options.network,
      });
      services.queue = queue;
      await queue.start();
    }

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        // Runs executing here fail as `shutdown` and open streams end, so the HTTP server can close.
        await runtime.stop(config.server.shutdown_grace_seconds * 200);
        await http.close();
        // Most of the shutdown grace goes to running tasks; the rest is handed back, not lost.
        await queue?.stop(config.server.shutdown_grace_seconds * 800);
        await mcp.stop();
        await egress.stop();
        await sandboxes.stop();
        await agentSandboxes.stop();
        // After the queue: running tasks may still call models; this writes their usage.
        await modelGateway.close();
        await bus.close();
        await db.close();
      })();
      return closing;
    };
    return { services, http, adminKey: boot.adminKey, defaultTenantId: boot.tenantId, close };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
