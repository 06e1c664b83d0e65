import type { ToolRegistry } from '../registry.ts';
import { calculatorTool } from './calculator.ts';
import { currentTimeTool } from './current-time.ts';
import { editFileTool, globFilesTool, readFileTool, writeFileTool } from './files.ts';
import { type OpsToolDeps, readJournalTool, recentTasksTool, systemHealthTool } from './ops.ts';
import { bashExecuteTool, webCrawlTool, webSearchTool } from './unavailable.ts';

/** Registers the built-in tools. */
export function registerBuiltinTools(registry: ToolRegistry): ToolRegistry {
  return registry
    .register(calculatorTool)
    .register(currentTimeTool)
    .register(readFileTool)
    .register(writeFileTool)
    .register(editFileTool)
    .register(globFilesTool)
    .register(bashExecuteTool)
    .register(webSearchTool)
    .register(webCrawlTool);
}

/** Registers the read-only operations tools (read_journal, system_health, recent_tasks). */
export function registerOpsTools(registry: ToolRegistry, deps: OpsToolDeps): ToolRegistry {
  return registry
    .register(readJournalTool(deps))
    .register(systemHealthTool(deps))
    .register(recentTasksTool(deps));
}
