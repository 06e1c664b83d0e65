import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/db.ts';

/** The queue's Prometheus metrics, registered on the app's own registry. */
export class QueueMetrics {
  readonly claims: Counter;
  readonly completions: Counter;
  readonly failures: Counter<'outcome'>;
  readonly reaped: Counter;

  constructor(registry: Registry, db: Db) {
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
    new Gauge({
      name: 'agentry_tasks_queue_depth',
      help: 'Tasks by status (pending and in_progress)',
      labelNames: ['status'],
      registers,
      async collect() {
        const rows = await db.query<{ status: string; n: number }>(
          `select status, count(*)::int as n from tasks where status in ('pending', 'in_progress') group by status`,
        );
        this.reset();
        this.set({ status: 'pending' }, 0);
        this.set({ status: 'in_progress' }, 0);
        for (const r of rows) this.set({ status: r.status }, r.n);
      },
    });
    new Gauge({
      name: 'agentry_tasks_oldest_pending_age_seconds',
      help: 'Age of the oldest runnable pending task (since its run_at), by task type',
      labelNames: ['task_type'],
      registers,
      async collect() {
        const rows = await db.query<{ task_type: string; age: number }>(
          `select task_type, extract(epoch from now() - min(run_at))::float8 as age
           from tasks where status = 'pending' and run_at <= now() group by task_type`,
        );
        this.reset();
        for (const r of rows) this.set({ task_type: r.task_type }, Math.max(0, Number(r.age)));
      },
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
