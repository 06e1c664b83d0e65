import { Command } from 'commander';
import { action } from './fail.ts';
import { formatRecord, print } from './output.ts';
import { openQueueApp, type StoreFlags, withStoreFlags } from './worker.ts';

export function runOnceCommand(): Command {
  return withStoreFlags(new Command('run-once'))
    .description('Process up to --limit runnable tasks (and due schedules), then exit with a summary')
    .option('--limit <n>', 'most tasks to process', '5')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (opts: StoreFlags & { limit: string; json?: boolean }) => {
        const limit = Number(opts.limit);
        if (!(Number.isInteger(limit) && limit >= 1)) {
          throw new Error(`--limit must be a positive integer, not "${opts.limit}"`);
        }
        // No background runner: this command drives one worker itself and stops when idle.
        const app = await openQueueApp(opts, { workers: 0 });
        try {
          const { QueueRunner } = await import('../tasks/runner.ts');
          const s = app.services;
          const { db } = app;
          const t = s.config.tasks;
          // The queue's parts, configured as `serve` runs them, but driven by hand and never started:
          // no callback wake-ups (one delivery round below instead), and the worker stops when idle.
          const runner = new QueueRunner(
            {
              db,
              bus: s.bus,
              log: s.log,
              handlers: s.taskHandlers,
              metrics: s.queueMetrics,
              tasks: t,
              policies: s.policies,
              secrets: s.callbackSecrets,
            },
            {
              concurrency: Math.min(limit, Math.max(1, t.workers || 4)),
              maxTasks: limit,
              exitWhenIdle: true,
              onCallbacks: undefined,
            },
          );
          const scheduled = await runner.scheduler.tick();
          const summary = await runner.worker.run();
          // One delivery round for the callbacks these tasks produced; retries are the workers' job.
          const callbacks = await runner.callbacks.sendDue();
          const result = { ...summary, scheduled, callbacks_attempted: callbacks };
          print(opts.json, result, () =>
            formatRecord([
              ['claimed', summary.claimed],
              ['completed', summary.completed],
              ['failed', summary.failed],
              ['to retry', summary.retried],
              ['scheduled', scheduled],
              ['callbacks', callbacks],
            ]),
          );
        } finally {
          await app.close();
        }
      }),
    );
}
