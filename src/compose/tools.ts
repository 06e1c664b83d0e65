import type { AgentService } from '../agents/agents.ts';
import { DeploymentService } from '../agents/local-dev/deployments.ts';
import type { Config } from '../config/config.ts';
import type { TenantPolicies } from '../config/tenant-policy.ts';
import type { Db } from '../db/db.ts';
import type { OutboundNetwork } from '../net/outbound.ts';
import { newRedis } from '../net/redis.ts';
import type { HealthRegistry } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { A2ARemotes } from '../runtime/a2a/remote.ts';
import { AgentSandboxes } from '../runtime/pool/local-dev/sandboxes.ts';
import { PoolInstances } from '../runtime/pool/pool-instances.ts';
import type { TaskService } from '../tasks/tasks.ts';
import { A2ATools } from '../tools/a2a-tools.ts';
import { registerBuiltinTools } from '../tools/builtins/registry.ts';
import { McpManager } from '../tools/mcp/manager.ts';
import { TenantToolRegistry } from '../tools/mcp/registry.ts';
import { McpServerStore } from '../tools/mcp/servers.ts';
import { credentialHeaders } from '../tools/sandbox/egress-allow.ts';
import { EgressProxy } from '../tools/sandbox/egress-proxy.ts';
import { FleetStats } from '../tools/sandbox/fleet-stats.ts';
import type { PoolStats } from '../tools/sandbox/pool.ts';
import { SandboxService } from '../tools/sandbox/sandbox.ts';
import type { Closers } from './closers.ts';

export interface ToolsDeps {
  config: Config;
  version: string;
  db: Db;
  log: Logger;
  metrics: Metrics;
  health: HealthRegistry;
  policies: TenantPolicies;
  agents: AgentService;
  tasks: TaskService;
  tenantName: (id: string) => Promise<string>;
  network?: OutboundNetwork;
}

/**
 * The sandboxes (tool pools and local-dev agents' pools), the egress proxy, MCP servers and the
 * tool registry agents call. Registers each closer as it opens, so they stop in reverse order:
 * MCP, egress, tool sandboxes, then agent sandboxes.
 */
export async function buildTools(deps: ToolsDeps, closers: Closers) {
  const { config, version, db, log, metrics, health, policies, agents, tasks, tenantName, network } = deps;
  const agentSandboxes = new AgentSandboxes(config.sandbox, log);
  closers.add('agent sandboxes', () => agentSandboxes.stop());
  health.register('agent_sandboxes', { essential: false, run: () => agentSandboxes.healthReport() });
  const deployments = new DeploymentService(db, agents, agentSandboxes);

  const sandboxes = new SandboxService({ config: config.sandbox, log, health, registry: metrics.registry });
  closers.add('sandboxes', () => sandboxes.stop());
  await sandboxes.start();
  // Sandboxes held for isA's pool clients go back to their pools before the pools stop.
  const poolInstances = new PoolInstances(
    config.compat.isa_pool_idle_ms,
    config.compat.isa_pool_max_per_user,
    log,
  );
  closers.add('pool instances', async () => poolInstances.stop());

  const fleetStats = openFleetStats(config, log, async () => {
    const all = await Promise.allSettled([
      ...(['bwrap', 'quickjs'] as const).map(async (t) => sandboxes.stats(t)),
      agentSandboxes.stats(),
    ]);
    return all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  });
  closers.add('fleet pool stats', () => fleetStats.close());

  const egress = new EgressProxy({ config: config.egress, policies, tenantName, log, network });
  closers.add('egress proxy', () => egress.stop());
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
    network,
    breaker: config.sandbox.breaker,
    health,
    version,
    egressBind: (tenantId) => egress.sandboxBind(tenantId),
  });
  closers.add('mcp', () => mcp.stop());

  const a2a = config.a2a;
  // Remote A2A agents (env a2a runs, swarm members, `a2a__<agent>` tools): the same SSRF rules,
  // deadline, retries and breakers as every other outbound call.
  const a2aRemotes = new A2ARemotes(
    {
      timeout_ms: a2a.timeout_ms,
      max_bytes: a2a.max_bytes,
      retries: { max: a2a.retries, base_ms: 200, max_ms: 5_000 },
      breaker: { failure_threshold: a2a.breaker_failures, reset_ms: a2a.breaker_reset_ms },
    },
    async (tenantId) => policies.get(await tenantName(tenantId)).network.allow_private_egress,
    network,
    async (tenantId, host) => credentialHeaders(policies.get(await tenantName(tenantId)), host, log),
  );
  const registry = new TenantToolRegistry(
    { defaultTimeoutMs: config.runtime.tool_timeout_ms },
    { mcp, a2a: new A2ATools(agents, a2aRemotes) },
  );
  const tools = registerBuiltinTools(registry, {
    sandbox: { service: sandboxes, timeoutMs: config.sandbox.limits.timeout_ms },
    egress: { proxy: egress, config: config.egress },
    // Read-only tools for agents that watch this deployment (the operations team).
    ops: {
      db,
      health: () => health.report(),
      recentTasks: async (tenantId, limit) => (await tasks.list(tenantId, { limit, offset: 0 })).data,
    },
  });
  return {
    sandboxes,
    agentSandboxes,
    fleetStats: fleetStats.stats,
    poolInstances,
    deployments,
    egress,
    mcpServers,
    mcp,
    tools,
    a2aRemotes,
  };
}

/** Pool stats published for the fleet through Redis when it is configured (else this process alone). */
function openFleetStats(config: Config, log: Logger, local: () => Promise<PoolStats[]>) {
  const redis = config.redis_url
    ? newRedis(config.redis_url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    : undefined;
  redis?.on('error', (err) => log.debug({ err }, 'redis (fleet pool stats) error'));
  const stats = new FleetStats({ redis, local, intervalMs: config.fleet.stats_seconds * 1000, log });
  stats.start();
  return {
    stats,
    close: async () => {
      await stats.stop();
      redis?.disconnect();
    },
  };
}
