import { Command } from 'commander';
import type { App } from '../app.ts';
import type { ConfigInput } from '../config/config.ts';
import { action } from './fail.ts';
import { stripUndefined } from './serve.ts';

export interface StoreFlags {
  config?: string;
  dataDir?: string;
  logLevel?: string;
}

/**
 * Opens the store and the services (no HTTP listener) with these queue settings. With `waitFor`,
 * a store that cannot be reached is waited for (`openWhenStoreReachable`) until that signal
 * aborts, which answers undefined.
 */
export async function openQueueApp(opts: StoreFlags, tasks: ConfigInput['tasks']): Promise<App>;
export async function openQueueApp(
  opts: StoreFlags,
  tasks: ConfigInput['tasks'],
  waitFor: AbortSignal,
): Promise<App | undefined>;
export async function openQueueApp(
  opts: StoreFlags,
  tasks: ConfigInput['tasks'],
  waitFor?: AbortSignal,
): Promise<App | undefined> {
  // Loaded here, not at the top: client commands should not pay for the server's imports.
  const { loadConfig } = await import('../config/config.ts');
  const { createApp } = await import('../app.ts');
  const { createLogger } = await import('../observability/logger.ts');
  const { openWhenStoreReachable } = await import('./wait-for-store.ts');
  const config = loadConfig({
    file: opts.config,
    flags: stripUndefined({
      tasks,
      ...(opts.dataDir && { store: { data_dir: opts.dataDir } }),
      ...(opts.logLevel && { log_level: opts.logLevel as ConfigInput['log_level'] }),
    }),
  });
  const log = createLogger(config.log_level);
  const start = () => createApp(config, { log });
  const app = waitFor ? await openWhenStoreReachable(start, log, waitFor) : await start();
  if (!app) return undefined;
  if (app.adminKey) {
    process.stderr.write(
      `first start of this store: created tenant "default"; admin key (shown once): ${app.adminKey}\n`,
    );
  }
  return app;
}

/**
 * Runs the in-process queue until SIGTERM/SIGINT: the first signal stops claiming, lets running
 * tasks finish within the grace period and hands the rest back; a second one exits at once.
 */
export async function runUntilSignal(app: App, what: string): Promise<void> {
  const { services } = app;
  const store = app.db.kind;
  process.stderr.write(
    `agentry ${what}: ${services.config.tasks.workers} slot(s), store ${store}, worker ${services.queue?.worker.owner}\n`,
  );
  if (store === 'pglite') {
    process.stderr.write(
      'note: the embedded store is single-process; run workers alone only against PostgreSQL\n',
    );
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) process.exit(1);
      stopping = true;
      services.log.info({ signal }, 'stopping: finishing running tasks, handing back the rest');
      app.close().then(resolve, (err) => {
        services.log.error({ err }, 'error while stopping');
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

export function withStoreFlags(command: Command): Command {
  return command
    .option('--config <file>', 'path of agentry.yaml')
    .option('--data-dir <dir>', 'PGlite data directory when DATABASE_URL is unset')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent');
}

/** `-c/--concurrency` of `worker` and `run-loop`: the slots of the queue it runs. */
export function withConcurrencyFlag(command: Command): Command {
  return command.option('-c, --concurrency <n>', 'tasks run at once (default: tasks.workers, 4)');
}

/**
 * Opens the store with these queue settings (`--concurrency`, when given, sets `tasks.workers`) and
 * runs its queue until a signal (`runUntilSignal`); refuses when that leaves no slot. A PostgreSQL
 * store that cannot be reached yet is waited for, with a warning per attempt, until it answers or a
 * signal stops the wait (exit 0).
 */
export async function runQueue(
  opts: StoreFlags & { concurrency?: string },
  tasks: ConfigInput['tasks'],
  what: string,
): Promise<void> {
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new Error(`--concurrency must be a positive integer, not "${opts.concurrency}"`);
  }
  // A signal while the store is being waited for ends the wait (a second one ends the process);
  // once the queue runs, runUntilSignal takes the signals over.
  const waiting = new AbortController();
  const stopWaiting = () => {
    if (waiting.signal.aborted) process.exit(1);
    waiting.abort();
  };
  process.on('SIGTERM', stopWaiting);
  process.on('SIGINT', stopWaiting);
  const app = await openQueueApp(opts, { ...tasks, workers: concurrency }, waiting.signal).finally(() => {
    process.off('SIGTERM', stopWaiting);
    process.off('SIGINT', stopWaiting);
  });
  if (!app) return;
  if (waiting.signal.aborted) {
    // Stopped while the store answered at last: nothing was claimed yet.
    await app.close();
    return;
  }
  if (!app.services.queue) {
    await app.close();
    throw new Error('tasks.workers is 0: nothing to run (pass --concurrency N)');
  }
  await runUntilSignal(app, what);
}

export function workerCommand(): Command {
  return withConcurrencyFlag(withStoreFlags(new Command('worker')))
    .description('Run a queue worker alone (no HTTP), against the store in DATABASE_URL')
    .action(action((opts: StoreFlags & { concurrency?: string }) => runQueue(opts, {}, 'worker')));
}
