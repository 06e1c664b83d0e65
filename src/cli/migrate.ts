import { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';
import { action } from './fail.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending store migrations and exit')
    .option('--config <file>', 'path of agentry.yaml')
    .action(
      action(async (opts: { config?: string }) => {
        const config = loadConfig({ file: opts.config });
        const db = await openDb(config.store);
        try {
          const applied = await migrate(db, (m) =>
            process.stderr.write(`applying ${String(m.version).padStart(4, '0')}_${m.name}\n`),
          );
          process.stdout.write(
            applied.length === 0 ? 'store is up to date\n' : `applied ${applied.length} migration(s)\n`,
          );
        } finally {
          await db.close();
        }
      }),
    );
}
