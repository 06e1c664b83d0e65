import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '../db/db.ts';
import type { ScrapeErrors } from '../observability/scrape-errors.ts';
import { DEFAULT_TASK_TYPE } from './tasks.ts';

/** The task types whose queue depth has series even while none of their tasks waits. */
export type TaskTypesSource = () => Promise<readonly string[]>;

/** The queue's Prometheus metrics, registered on the app's own registry. */
export class QueueMetrics {
  readonly claims: Counter;
  readonly completions: Counter;
  readonly failures: Counter<'outcome'>;
  readonly reaped: Counter;
  /** From the time a task could run (its run_at) to its claim: how long the queue held it. */
  readonly waited: Histogram<'task_type'>;
  /** One attempt, claim to completion or failure. */
  readonly attempts: Histogram<'task_type' | 'outcome'>;

  constructor(
    registry: Registry,
    db: Db,
    scrapeErrors: ScrapeErrors,
    declaredTaskTypes: TaskTypesSource = async () => [],
  ) {
    const registers = [registry];
    this.claims = new Counter({
      name: 'agentry_tasks_claimed_total',
      help: 'Task attempts claimed',
      registers,
    });
    this.completions = new Counter({
      name: 'agentry_tasks_completed_total',
      help: 'Task attempts completed',
      registers,
    });
    this.failures = new Counter({
      name: 'agentry_tasks_failed_attempts_total',
      help: 'Failed task attempts, by outcome (retry or failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.reaped = new Counter({
      name: 'agentry_tasks_lease_expired_total',
      help: 'Attempts whose lease expired (worker lost) and were swept',
      registers,
    });
    const buckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
    this.waited = new Histogram({
      name: 'agentry_task_wait_seconds',
      help: 'Time from when a task could run (run_at) to its claim by a worker, by task type',
      labelNames: ['task_type'],
      buckets,
      registers,
    });
    this.attempts = new Histogram({
      name: 'agentry_task_duration_seconds',
      help: 'Task attempt duration, claim to outcome (completed, retry, failed), by task type',
      labelNames: ['task_type', 'outcome'],
      buckets,
      registers,
    });
    // Series at 0 for every task type that agents declare (and the default type), and for any type
    // that had tasks while this process runs: an empty queue reads 0 (a graph drops to 0 rather than
    // ending, an alert on it has something to compare) instead of having no series at all.
    const seen = new Set<string>();
    const statuses = ['pending', 'in_progress'];
    new Gauge({
      name: 'agentry_tasks_queue_depth',
      help: 'Tasks by status (pending and in_progress) and task type',
      labelNames: ['status', 'task_type'],
      registers,
      collect: scrapeErrors.collect('queue_depth', async (gauge) => {
        const [rows, declared] = await Promise.all([
          db.query<{ status: string; task_type: string; n: number }>(
            `select status, task_type, count(*)::int as n from tasks
             where status in ('pending', 'in_progress') group by status, task_type`,
          ),
          declaredTaskTypes(),
        ]);
        for (const type of [DEFAULT_TASK_TYPE, ...declared])
          for (const status of statuses) seen.add(JSON.stringify([status, type]));
        gauge.reset();
        for (const key of seen) {
          const [status, task_type] = JSON.parse(key) as [string, string];
          gauge.set({ status, task_type }, 0);
        }
        for (const r of rows) {
          seen.add(JSON.stringify([r.status, r.task_type]));
          gauge.set({ status: r.status, task_type: r.task_type }, r.n);
        }
      }),
    });
    new Gauge({
      name: 'agentry_tasks_oldest_pending_age_seconds',
      help: 'Age of the oldest runnable pending task (since its run_at), by task type',
      labelNames: ['task_type'],
      registers,
      collect: scrapeErrors.collect('queue_oldest_age', async (gauge) => {
        const rows = await db.query<{ task_type: string; age: number }>(
          `select task_type, extract(epoch from now() - min(run_at))::float8 as age
           from tasks where status = 'pending' and external is null and run_at <= now() group by task_type`,
        );
        gauge.reset();
        for (const r of rows) gauge.set({ task_type: r.task_type }, Math.max(0, Number(r.age)));
      }),
    });
    this.workers = new Gauge({
      name: 'agentry_task_workers',
      help: 'Task worker slots running in this process (0: an API-only process)',
      registers,
    });
  }

  /** Set by the queue runner when it starts and stops. */
  readonly workers: Gauge;
}
