import { Command } from 'commander';
import { version } from '../app.ts';
import { migrateCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';

/** The `agentry` command tree. Each command lives in its own file and calls the same services as HTTP. */
export function buildCli(): Command {
  const program = new Command('agentry')
    .description('A self-hosted runtime for AI agents')
    .version(version)
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(migrateCommand());
  return program;
}
