import { Command } from 'commander';
import { version } from '../version.ts';
import { agentsCommand } from './agents.ts';
import { consoleCommand } from './console.ts';
import { createTaskCommand } from './create-task.ts';
import { deployCommand } from './deploy.ts';
import { evalCommand } from './eval.ts';
import { kbCommand } from './kb.ts';
import { keysCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { packsCommand } from './packs.ts';
import { runLoopCommand } from './run-loop.ts';
import { runOnceCommand } from './run-once.ts';
import { scaffoldCommand } from './scaffold.ts';
import { schedulesCommand } from './schedules.ts';
import { serveCommand } from './serve.ts';
import { statusCommand } from './status.ts';
import { tasksCommand } from './tasks.ts';
import { templatesCommand } from './templates.ts';
import { tenantsCommand } from './tenants.ts';
import { workerCommand } from './worker.ts';

/** The `agentry` command tree. Each command lives in its own file and calls the same services as HTTP. */
export function buildCli(): Command {
  const program = new Command('agentry')
    .description('A self-hosted runtime for AI agents')
    .version(version)
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(migrateCommand());
  program.addCommand(agentsCommand());
  program.addCommand(templatesCommand());
  program.addCommand(keysCommand());
  program.addCommand(tenantsCommand());
  program.addCommand(workerCommand());
  program.addCommand(runOnceCommand());
  program.addCommand(runLoopCommand());
  program.addCommand(statusCommand());
  program.addCommand(consoleCommand());
  program.addCommand(createTaskCommand());
  program.addCommand(tasksCommand());
  program.addCommand(schedulesCommand());
  program.addCommand(kbCommand());
  program.addCommand(packsCommand());
  program.addCommand(scaffoldCommand());
  program.addCommand(deployCommand());
  program.addCommand(evalCommand());
  return program;
}
