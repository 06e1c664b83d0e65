import { Command } from 'commander';
import { action } from './fail.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending store migrations and exit')
    .option('--data-dir <dir>', 'PGlite data directory when DATABASE_URL is unset')
    .option('--config <file>', 'path of agentry.yaml')
    .action(
      action(async (opts: { config?: string; dataDir?: string }) => {
        // Loaded here, not at the top: client commands should not pay for the store drivers.
        const { loadConfig } = await import('../config/config.ts');
        const { migrate } = await import('../db/migrate.ts');
        const { openDb } = await import('../db/open.ts');
        const flags = opts.dataDir ? { store: { data_dir: opts.dataDir } } : undefined;
        const config = loadConfig({ file: opts.config, flags });
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
