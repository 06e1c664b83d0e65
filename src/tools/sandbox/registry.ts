import { ToolRegistry, type ToolRegistryOptions } from '../registry.ts';
import type { ToolDefinition } from '../types.ts';
import type { SandboxService } from './service.ts';
import { bashExecuteTool, runJavascriptTool } from './tools.ts';

/**
 * A tool registry in which the sandboxed tools take the place of the built-in placeholders of the
 * same name (`bash_execute` answers "not available" in a registry without a sandbox). The sandboxed
 * definitions are registered first; a later registration under one of their names is skipped.
 */
export class SandboxedToolRegistry extends ToolRegistry {
  private readonly sandboxed: ReadonlySet<string>;

  constructor(options: ToolRegistryOptions, sandboxes: SandboxService, sandboxTimeoutMs: number) {
    super(options);
    const bash = bashExecuteTool(sandboxes, sandboxTimeoutMs);
    const javascript = runJavascriptTool(sandboxes, sandboxTimeoutMs);
    this.sandboxed = new Set([bash.name, javascript.name]);
    // Each through super: this class's register skips exactly these names.
    super.register(bash);
    super.register(javascript);
  }

  override register<A>(def: ToolDefinition<A>): this {
    if (this.sandboxed.has(def.name)) return this;
    return super.register(def);
  }
}
