import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import type { Logger } from '../observability/logger.ts';
import { enqueueTask } from './enqueue.ts';
import { nextRunAfter } from './next-run.ts';
import { PolledService, waitForDue } from './poll-loop.ts';
import type { ScheduleRow } from './schedule-rows.ts';

export interface SchedulerOptions {
  db: Db;
  log: Logger;
  /** Longest wait between looks at the schedules table. */
  pollSeconds: number;
}

/**
 * Turns due schedules into tasks. Every worker process runs one; each tick is claimed in the
 * database (`FOR UPDATE SKIP LOCKED` on the schedule row, whose `next_run_at` moves forward in the
 * same transaction as the task insert), so a tick creates exactly one task however many processes
 * run. The task's idempotency key names the tick as a second guard.
 */
export class Scheduler extends PolledService {
  constructor(private readonly options: SchedulerOptions) {
    super(options, 'schedule tick failed; retrying');
  }

  /** Creates the tasks of every due schedule; returns how many. Exposed for tests and `run-once`. */
  async tick(): Promise<number> {
    let created = 0;
    for (;;) {
      const n = await this.options.db.transaction(async (tx) => {
        const due = await tx.query<ScheduleRow & { now: Date }>(
          `select *, now() as now from schedules where not paused and next_run_at <= now()
           order by next_run_at limit 20 for update skip locked`,
        );
        for (const s of due) {
          const task = await enqueueTask(tx, {
            id: newId(),
            tenant_id: s.tenant_id,
            agent_id: s.agent_id,
            task_type: s.task_type,
            title: s.title,
            description: s.description,
            payload: s.payload,
            priority: s.priority,
            max_attempts: s.max_attempts,
            idempotency_key: `schedule:${s.id}:${s.next_run_at.toISOString()}`,
            created_by: `schedule:${s.id}`,
          });
          const next = nextRunAfter(s, s.now, s.interval_seconds === null ? undefined : s.next_run_at);
          await tx.query(
            `update schedules set next_run_at = $2, last_run_at = now(), last_task_id = coalesce($3, last_task_id),
                                  updated_at = now()
             where id = $1`,
            [s.id, next, task?.id ?? null],
          );
        }
        return due.length;
      });
      created += n;
      if (n < 20) return created;
    }
  }

  /** Creates the due tasks, then sleeps until the next schedule falls due (at most the poll interval). */
  protected async round(): Promise<number> {
    await this.tick();
    const [row] = await this.options.db.query<{ ms: number | null }>(
      `select (extract(epoch from min(next_run_at) - now()) * 1000)::float8 as ms
       from schedules where not paused`,
    );
    return waitForDue(row?.ms, this.options.pollSeconds * 1000);
  }
}
