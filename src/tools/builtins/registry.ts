import type { EgressConfig } from '../../config/mcp-config.ts';
import type { ToolRegistry } from '../registry.ts';
import type { EgressProxy } from '../sandbox/egress-proxy.ts';
import type { SandboxService } from '../sandbox/sandbox.ts';
import { bashExecuteTool, runJavascriptTool } from '../sandbox/tools.ts';
import type { ToolDefinition } from '../types.ts';
import { calculatorTool } from './calculator.ts';
import { currentTimeTool } from './current-time.ts';
import { editFileTool, globFilesTool, readFileTool, writeFileTool } from './files.ts';
import { type OpsToolDeps, readJournalTool, recentTasksTool, systemHealthTool } from './ops.ts';
import { bashExecutePlaceholder, webCrawlPlaceholder, webSearchPlaceholder } from './unavailable.ts';
import { webCrawlTool, webSearchTool } from './web.ts';

/** What the built-in tools are made from; each part is absent where the deployment lacks it. */
export interface BuiltinToolDeps {
  /** The sandboxes behind `bash_execute` and `run_javascript`, and the sandbox's own time limit. */
  sandbox?: { service: SandboxService; timeoutMs: number };
  /** The egress proxy `web_crawl` and `web_search` reach the network through. */
  egress?: { proxy: EgressProxy; config: EgressConfig };
  /** What the operations tools read (the journal, health, recent tasks). */
  ops?: OpsToolDeps;
}

/** Makes one built-in tool, or nothing where the deployment lacks what it needs. */
// biome-ignore lint/suspicious/noExplicitAny: each tool has its own argument type; the registry validates them.
type BuiltinTool = (deps: BuiltinToolDeps) => ToolDefinition<any> | undefined;

/**
 * Every built-in tool, by the name agents list it under (a test checks each makes a tool of that
 * name). Adding one: its file in builtins/ and one entry here (docs/architecture.md, "Adding a
 * tool"). A tool whose part is missing is either a placeholder that answers "not available" (an
 * agent naming it gets a clear tool error, never a made-up result) or left out.
 */
export const builtinTools = {
  bash_execute: (d) =>
    d.sandbox ? bashExecuteTool(d.sandbox.service, d.sandbox.timeoutMs) : bashExecutePlaceholder,
  run_javascript: (d) => d.sandbox && runJavascriptTool(d.sandbox.service, d.sandbox.timeoutMs),
  web_crawl: (d) => (d.egress ? webCrawlTool(d.egress.proxy, d.egress.config) : webCrawlPlaceholder),
  web_search: (d) => (d.egress ? webSearchTool(d.egress.proxy, d.egress.config) : webSearchPlaceholder),
  calculator: () => calculatorTool,
  current_time: () => currentTimeTool,
  read_file: () => readFileTool,
  write_file: () => writeFileTool,
  edit_file: () => editFileTool,
  glob_files: () => globFilesTool,
  read_journal: (d) => d.ops && readJournalTool(d.ops),
  system_health: (d) => d.ops && systemHealthTool(d.ops),
  recent_tasks: (d) => d.ops && recentTasksTool(d.ops),
} satisfies Record<string, BuiltinTool>;

/**
 * Registers every built-in tool that `deps` can make, in the registry's order; each schema is
 * compiled at its tool's first call (test/tools/registry.test.ts compiles them all).
 */
export function registerBuiltinTools<R extends ToolRegistry>(registry: R, deps: BuiltinToolDeps = {}): R {
  for (const make of Object.values(builtinTools) as BuiltinTool[]) {
    const def = make(deps);
    if (def) registry.register(def, { compileOnFirstCall: true });
  }
  return registry;
}
