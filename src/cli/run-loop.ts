import { Command } from 'commander';
import { action } from './fail.ts';
import { openQueueApp, runUntilSignal, type StoreFlags, withStoreFlags } from './worker.ts';

export function runLoopCommand(): Command {
  return withStoreFlags(new Command('run-loop'))
    .description(
      'Keep processing tasks until stopped; woken by new tasks, polling at most every --sleep-seconds',
    )
    .option('--sleep-seconds <s>', 'longest idle wait between looks at the queue', '10')
    .option('-c, --concurrency <n>', 'tasks run at once (default: tasks.workers, 4)')
    .action(
      action(async (opts: StoreFlags & { sleepSeconds: string; concurrency?: string }) => {
        const sleep = Number(opts.sleepSeconds);
        if (!(sleep > 0))
          throw new Error(`--sleep-seconds must be a positive number, not "${opts.sleepSeconds}"`);
        const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
        if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
          throw new Error(`--concurrency must be a positive integer, not "${opts.concurrency}"`);
        }
        const app = await openQueueApp(opts, { workers: concurrency ?? undefined, poll_seconds: sleep });
        if (!app.services.queue) {
          await app.close();
          throw new Error('tasks.workers is 0: nothing to run (pass --concurrency N)');
        }
        await runUntilSignal(app, 'run-loop');
      }),
    );
}
