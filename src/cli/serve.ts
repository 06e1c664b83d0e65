import { Command } from 'commander';
import type { ConfigInput } from '../config/config.ts';
import { action } from './fail.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the Agentry server (migrates the store first)')
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('-p, --port <port>', 'port to listen on (default 7070)')
    .option('--data-dir <dir>', 'PGlite data directory when DATABASE_URL is unset')
    .option('--config <file>', 'path of agentry.yaml')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--workers <n>', 'tasks run at once by in-process workers (default 4); 0 turns them off')
    .option(
      '--role <role>',
      'api (HTTP, no tasks) | worker (tasks, health endpoints only) | all (default; env AGENTRY_ROLE)',
    )
    .action(
      action(
        async (opts: {
          host?: string;
          port?: string;
          dataDir?: string;
          config?: string;
          logLevel?: string;
          workers?: string;
          role?: string;
        }) => {
          const flags: ConfigInput = {
            ...((opts.host || opts.port) && {
              server: { host: opts.host, port: opts.port as unknown as number },
            }),
            ...(opts.dataDir && { store: { data_dir: opts.dataDir } }),
            ...(opts.logLevel && { log_level: opts.logLevel as ConfigInput['log_level'] }),
            ...(opts.workers !== undefined && { tasks: { workers: opts.workers as unknown as number } }),
            ...(opts.role && { fleet: { role: opts.role as 'all' } }),
          };
          // Loaded here, not at the top: client commands should not pay for the server's imports.
          const { loadConfig } = await import('../config/config.ts');
          const { serve } = await import('../server.ts');
          await serve(loadConfig({ flags: stripUndefined(flags), file: opts.config }));
        },
      ),
    );
}

/** Drops undefined leaves so an absent flag never overrides env or file values. */
export function stripUndefined<T>(value: T): T {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, stripUndefined(v)]),
  ) as T;
}
