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
          const { Worker } = await import('../tasks/worker.ts');
          const { Scheduler } = await import('../tasks/scheduler.ts');
          const { CallbackSender } = await import('../tasks/callback-sender.ts');
          const s = app.services;
          const t = s.config.tasks;
          const scheduled = await new Scheduler({ db: s.db, log: s.log, pollSeconds: t.poll_seconds }).tick();
          const worker = new Worker({
            db: s.db,
            bus: s.bus,
            log: s.log,
            handlers: s.taskHandlers,
            metrics: s.queueMetrics,
            concurrency: Math.min(limit, Math.max(1, t.workers || 4)),
            leaseSeconds: t.lease_seconds,
            pollSeconds: t.poll_seconds,
            claimBatch: t.claim_batch,
            retryBaseSeconds: t.retry_base_seconds,
            retryCapSeconds: t.retry_cap_seconds,
            tenantMaxRunning: t.tenant_max_running,
            maxTasks: limit,
            exitWhenIdle: true,
          });
          const summary = await worker.run();
          // One delivery round for the callbacks these tasks produced; retries are the workers' job.
          const callbacks = await new CallbackSender({
            db: s.db,
            log: s.log,
            policies: s.policies,
            secrets: s.callbackSecrets,
            maxAttempts: t.callback_max_attempts,
            retryBaseSeconds: t.callback_retry_base_seconds,
            retryCapSeconds: t.callback_retry_cap_seconds,
            timeoutSeconds: t.callback_timeout_seconds,
            pollSeconds: t.poll_seconds,
          }).sendDue();
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
