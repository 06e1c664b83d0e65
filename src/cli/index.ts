import { Command } from 'commander';
import { agentsCommand } from './agents.ts';
import { keysCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';
import { templatesCommand } from './templates.ts';
import { tenantsCommand } from './tenants.ts';
import { version } from './version.ts';

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
  return program;
}
