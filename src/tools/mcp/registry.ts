import type { ToolSpec } from '../../models/types.ts';
import type { A2ATools } from '../a2a-tools.ts';
import { ToolRegistry, type ToolRegistryOptions } from '../registry.ts';
import type { ToolContext, ToolOutcome } from '../types.ts';
import type { McpManager } from './manager.ts';

/**
 * The registry agents use: the tools registered in it (the built-ins, tools/builtins/registry.ts),
 * and each tenant's MCP tools (`<server>__<tool>`) and remote A2A agents (`a2a__<agent>`), resolved
 * per tenant at each run and call.
 */
export class TenantToolRegistry extends ToolRegistry {
  constructor(
    options: ToolRegistryOptions,
    private readonly extra: { mcp: McpManager; a2a?: A2ATools },
  ) {
    super(options);
  }

  get mcp(): McpManager {
    return this.extra.mcp;
  }

  override async specsFor(tenantId: string, names: readonly string[]): Promise<ToolSpec[]> {
    const own = this.specs(names);
    const rest = names.filter((n) => !this.get(n));
    if (rest.length === 0) return own;
    const { a2a } = this.extra;
    const remote = a2a ? await a2a.specs(tenantId, rest) : [];
    // An MCP server may be named `a2a` too: its tools are the names no remote agent took.
    const mcp = rest.filter((n) => !remote.some((r) => r.function.name === n));
    return [...own, ...remote, ...(mcp.length > 0 ? await this.extra.mcp.specs(tenantId, mcp) : [])];
  }

  override knownSpecs(tenantId: string, names: readonly string[]): ToolSpec[] {
    const rest = names.filter((n) => !this.get(n));
    const own = this.specs(names);
    if (rest.length === 0) return own;
    const { a2a } = this.extra;
    const remote = a2a ? a2a.cachedSpecs(tenantId, rest) : [];
    const mcp = rest.filter((n) => !remote.some((r) => r.function.name === n));
    return [...own, ...remote, ...this.extra.mcp.cachedSpecs(tenantId, mcp)];
  }

  override async execute(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolOutcome> {
    if (!this.get(name) && this.extra.a2a?.owns(name)) {
      const outcome = await this.extra.a2a.execute(name, rawArguments, ctx);
      if (outcome) return outcome;
    }
    if (!this.get(name)) {
      const outcome = await this.extra.mcp.execute(ctx.tenantId, name, rawArguments, ctx.signal, ctx.trace);
      if (outcome) return outcome;
    }
    return super.execute(name, rawArguments, ctx);
  }
}
