import type { ToolSpec } from '../../models/types.ts';
import type { ToolRegistryOptions } from '../registry.ts';
import { SandboxedToolRegistry } from '../sandbox/registry.ts';
import type { SandboxService } from '../sandbox/service.ts';
import type { ToolContext, ToolDefinition, ToolOutcome } from '../types.ts';
import type { McpManager } from './manager.ts';

/**
 * The registry agents use: the sandboxed tools, the web tools working through the egress proxy
 * (both take the place of the built-in placeholders of the same names), the built-ins, and each
 * tenant's MCP tools (`<server>__<tool>`), resolved per tenant at each run and call.
 */
export class TenantToolRegistry extends SandboxedToolRegistry {
  private readonly replacing: ReadonlySet<string>;

  constructor(
    options: ToolRegistryOptions,
    sandboxes: SandboxService,
    sandboxTimeoutMs: number,
    private readonly extra: { mcp: McpManager; tools: ToolDefinition[] },
  ) {
    super(options, sandboxes, sandboxTimeoutMs);
    for (const def of extra.tools) super.register(def);
    this.replacing = new Set(extra.tools.map((t) => t.name));
  }

  override register<A>(def: ToolDefinition<A>): this {
    if (this.replacing?.has(def.name)) return this;
    return super.register(def);
  }

  get mcp(): McpManager {
    return this.extra.mcp;
  }

  override async specsFor(tenantId: string, names: readonly string[]): Promise<ToolSpec[]> {
    const own = this.specs(names);
    const rest = names.filter((n) => !this.get(n));
    if (rest.length === 0) return own;
    return [...own, ...(await this.extra.mcp.specs(tenantId, rest))];
  }

  override knownSpecs(tenantId: string, names: readonly string[]): ToolSpec[] {
    const rest = names.filter((n) => !this.get(n));
    const own = this.specs(names);
    return rest.length === 0 ? own : [...own, ...this.extra.mcp.cachedSpecs(tenantId, rest)];
  }

  override async execute(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolOutcome> {
    if (!this.get(name)) {
      const outcome = await this.extra.mcp.execute(ctx.tenantId, name, rawArguments, ctx.signal, ctx.trace);
      if (outcome) return outcome;
    }
    return super.execute(name, rawArguments, ctx);
  }
}
