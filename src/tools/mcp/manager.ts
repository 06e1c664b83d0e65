import type { McpConfig } from '../../config/mcp-config.ts';
import type { TenantPolicy } from '../../config/tenant-policy.ts';
import type { ToolSpec } from '../../models/types.ts';
import type { OutboundNetwork } from '../../net/outbound.ts';
import type { HealthRegistry } from '../../observability/health.ts';
import { type BreakerOptions, CircuitBreaker } from '../../resilience/breaker.ts';
import { parseToolArguments } from '../arguments.ts';
import type { SandboxBind } from '../sandbox/bwrap-args.ts';
import type { SandboxService } from '../sandbox/sandbox.ts';
import { type ToolContext, ToolError, type ToolOutcome } from '../types.ts';
import { McpConnection, type McpTool, McpUnavailableError } from './connection.ts';
import type { McpServerRow } from './schema.ts';
import type { McpServerStore } from './servers.ts';

export interface McpManagerDeps {
  store: McpServerStore;
  config: McpConfig;
  sandboxes: SandboxService;
  policyFor: (tenantId: string) => Promise<TenantPolicy>;
  /** DNS and routing of the guarded client (tests only). */
  network?: OutboundNetwork;
  breaker: BreakerOptions;
  health: HealthRegistry;
  version: string;
  /** The tenant's egress proxy socket for stdio servers' sandboxes (see EgressProxy.sandboxBind). */
  egressBind: (tenantId: string) => Promise<SandboxBind | undefined>;
}

/** One server of a tenant as `GET /v1/tools` reports it. */
export interface McpServerTools {
  server: McpServerRow;
  tools: McpTool[];
  error?: string;
}

/** What trying a server found (POST /v1/mcp-servers/:id/test). */
export interface McpProbe {
  ok: boolean;
  latency_ms: number;
  tools: string[];
  error?: string;
}

const specOf = (t: McpTool): ToolSpec => ({
  type: 'function',
  function: { name: t.name, description: t.description, parameters: t.parameters },
});

/** Splits `<server>__<tool>`; server names hold no `_`, so the first `__` is the separator. */
function splitToolName(name: string): { server: string; tool: string } | undefined {
  const at = name.indexOf('__');
  return at > 0 ? { server: name.slice(0, at), tool: name.slice(at + 2) } : undefined;
}

/**
 * The MCP tools of every tenant, in this process. A tenant's servers are read from the store at
 * each use (one indexed query), so a server registered or removed through another process is seen
 * at once; connections are kept per server row and replaced when the row changes. Calls pass a
 * per-tool breaker (per tenant: one tenant's broken server never disables another's tools) that
 * counts unreachable servers and timeouts, not the tool's own error answers.
 */
export class McpManager {
  private readonly connections = new Map<string, McpConnection>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** Whether each server (by name) answered the last time it was tried (a test, a tool listing). */
  private readonly reach = new Map<string, { transport: string; ok: boolean; error?: string; at: string }>();

  constructor(private readonly deps: McpManagerDeps) {
    deps.health.register('mcp', {
      essential: false,
      run: async () => {
        const open = [...this.breakers.values()].filter((b) => b.state === 'open').map((b) => b.name);
        const unreachable = [...this.reach].filter(([, r]) => !r.ok).map(([name]) => name);
        return {
          status: open.length > 0 || unreachable.length > 0 ? ('degraded' as const) : ('ok' as const),
          detail: { connections: this.connections.size, open_breakers: open, unreachable },
        };
      },
    });
    // One component per server connected in this process (`mcp:<server>`): degraded while the breaker
    // of one of its tools is open. Servers of the same name in several tenants share one component.
    deps.health.registerGroup('mcp', {
      run: async () => {
        const servers: Record<string, { transport: string; open: string[] }> = {};
        for (const c of this.connections.values()) {
          servers[c.row.name] ??= { transport: c.row.transport, open: [] };
        }
        for (const [name, r] of this.reach) servers[name] ??= { transport: r.transport, open: [] };
        for (const b of this.breakers.values()) {
          const parts = splitToolName(b.name);
          const server = parts && servers[parts.server];
          if (server && b.state === 'open') server.open.push(b.name);
        }
        // A server that did not answer the last time it was tried is down (red), whatever its breakers.
        return Object.fromEntries(
          Object.entries(servers).map(([name, s]) => {
            const r = this.reach.get(name);
            const status = r && !r.ok ? 'down' : s.open.length > 0 ? 'degraded' : 'ok';
            const detail = {
              transport: s.transport,
              open_breakers: [...new Set(s.open)],
              ...(r && { last_tried: r.at, ...(r.error && { reason: `unreachable: ${r.error}` }) }),
            };
            return [name, { status: status as 'down' | 'degraded' | 'ok', detail }];
          }),
        );
      },
    });
  }

  /** Every server of the tenant with its tools, or why they could not be listed. */
  async serverTools(tenantId: string): Promise<McpServerTools[]> {
    const conns = await this.connectionsOf(tenantId);
    return Promise.all(
      conns.map(async (c) => {
        try {
          const tools = await c.tools();
          this.noteReach(c.row, true);
          return { server: c.row, tools };
        } catch (err) {
          this.noteReach(c.row, false, (err as Error).message);
          return { server: c.row, tools: [], error: (err as Error).message };
        }
      }),
    );
  }

  /**
   * Tries a server now, on a connection of its own (not the cached one, whose tool list may be
   * remembered): connects, lists its tools and closes. Undefined when the tenant has no such server.
   */
  async probe(tenantId: string, id: string): Promise<McpProbe | undefined> {
    const row = (await this.deps.store.rows(tenantId)).find((r) => r.id === id);
    if (!row) return undefined;
    const conn = this.connect(tenantId, row);
    const started = performance.now();
    try {
      const tools = await conn.tools();
      this.noteReach(row, true);
      return { ok: true, latency_ms: performance.now() - started, tools: tools.map((t) => t.name) };
    } catch (err) {
      this.noteReach(row, false, (err as Error).message);
      return { ok: false, latency_ms: performance.now() - started, tools: [], error: (err as Error).message };
    } finally {
      // A test connection: its outcome is reported above; closing it can fail only as it dies.
      await conn.close().catch(() => {});
    }
  }

  private noteReach(row: McpServerRow, ok: boolean, error?: string): void {
    this.reach.set(row.name, {
      transport: row.transport,
      ok,
      ...(error && { error }),
      at: new Date().toISOString(),
    });
  }

  /** The specs of the MCP tools among `names` that the tenant's servers offer now (or last offered). */
  async specs(tenantId: string, names: readonly string[]): Promise<ToolSpec[]> {
    const wanted = names.map(splitToolName).filter((n) => n !== undefined);
    if (wanted.length === 0) return [];
    const servers = new Set(wanted.map((w) => w.server));
    const conns = (await this.connectionsOf(tenantId)).filter((c) => servers.has(c.row.name));
    const offered = new Map<string, McpTool>();
    await Promise.all(
      conns.map(async (c) => {
        // An unreachable server's tools are not offered (the model cannot call what it cannot see).
        const tools = await c.tools().catch(() => c.cachedTools() ?? []);
        for (const t of tools) offered.set(t.name, t);
      }),
    );
    return names.flatMap((n) => {
      const t = offered.get(n);
      return t ? [specOf(t)] : [];
    });
  }

  /** `specs` from what this process last listed, without a store read or a connection. */
  cachedSpecs(tenantId: string, names: readonly string[]): ToolSpec[] {
    const offered = new Map<string, McpTool>();
    for (const c of this.connections.values()) {
      if (c.row.tenant_id !== tenantId) continue;
      for (const t of c.cachedTools() ?? []) offered.set(t.name, t);
    }
    return names.flatMap((n) => {
      const t = offered.get(n);
      return t ? [specOf(t)] : [];
    });
  }

  /** Runs an MCP tool for the tenant; undefined when `name` is not one of its servers' tool names. */
  async execute(
    tenantId: string,
    name: string,
    rawArguments: string,
    signal: AbortSignal,
    trace?: ToolContext['trace'],
  ): Promise<ToolOutcome | undefined> {
    const parts = splitToolName(name);
    if (!parts) return undefined;
    const conn = (await this.connectionsOf(tenantId)).find((c) => c.row.name === parts.server);
    if (!conn) return undefined;
    const parsed = parseToolArguments(rawArguments);
    if (!parsed.ok) return parsed;
    const args = parsed.args;
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      return { ok: false, error: 'arguments must be a JSON object' };
    const breaker = this.breaker(tenantId, name);
    if (!breaker.acquire()) {
      return {
        ok: false,
        error: `${name} is temporarily disabled after repeated failures of MCP server ${parts.server}; try again in ${Math.ceil(breaker.retryInMs() / 1000)} s`,
      };
    }
    try {
      const tool = (await conn.tools()).find((t) => t.name === name);
      if (!tool) {
        breaker.release();
        return { ok: false, error: `MCP server ${parts.server} has no tool ${parts.tool}` };
      }
      const output = await conn.call(tool.remoteName, args as Record<string, unknown>, signal, trace);
      breaker.success();
      return { ok: true, output };
    } catch (err) {
      if (err instanceof McpUnavailableError && !signal.aborted) breaker.failure();
      else breaker.success();
      if (signal.aborted) return { ok: false, error: `${name} was cancelled` };
      if (err instanceof ToolError) return { ok: false, error: err.message };
      return { ok: false, error: `${name} failed: internal error (${(err as Error).name ?? 'Error'})` };
    }
  }

  /** Closes the connection of a removed server. */
  forget(row: McpServerRow): void {
    const conn = this.connections.get(row.id);
    this.connections.delete(row.id);
    void conn?.close();
  }

  async stop(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(all.map((c) => c.close()));
  }

  private async connectionsOf(tenantId: string): Promise<McpConnection[]> {
    const rows = await this.deps.store.rows(tenantId);
    if (rows.length === 0 && this.connections.size === 0) return [];
    // From here to the end nothing awaits, so two calls cannot both connect a row.
    const current = new Set(rows.map((r) => r.id));
    // Servers removed by another process: their connections go too.
    for (const c of this.connections.values()) {
      if (c.row.tenant_id === tenantId && !current.has(c.row.id)) this.forget(c.row);
    }
    const out: McpConnection[] = [];
    for (const row of rows) {
      let conn = this.connections.get(row.id);
      const replaced = conn && conn.version !== `${row.id}@${new Date(row.updated_at).getTime()}`;
      if (!conn || replaced) {
        if (conn) void conn.close();
        conn = this.connect(tenantId, row);
        this.connections.set(row.id, conn);
      }
      out.push(conn);
    }
    return out;
  }

  private connect(tenantId: string, row: McpServerRow): McpConnection {
    return new McpConnection(row, {
      config: this.deps.config,
      sandboxes: this.deps.sandboxes,
      // Read at each request: a policy withdrawn since the connection was made applies at once.
      allowPrivate: async () => (await this.deps.policyFor(tenantId)).network.allow_private_egress,
      network: this.deps.network,
      version: this.deps.version,
      egressBind: () => this.deps.egressBind(tenantId),
    });
  }

  private breaker(tenantId: string, tool: string): CircuitBreaker {
    const key = `${tenantId}:${tool}`;
    let b = this.breakers.get(key);
    if (!b) {
      b = new CircuitBreaker(tool, this.deps.breaker);
      this.breakers.set(key, b);
    }
    return b;
  }
}
