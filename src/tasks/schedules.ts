import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type PageQuery } from '../db/page.ts';
import { withoutUndefined } from '../db/patch.ts';
import { AppError, isUniqueViolation, notFound } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import { assertTiming, nextRunAfter, type Timing } from './next-run.ts';
import {
  type CreateScheduleInput,
  type Schedule,
  type ScheduleRow,
  toSchedule,
  type UpdateScheduleInput,
} from './schedule-rows.ts';
import type { TaskService } from './tasks.ts';

/** Schedules: CRUD and pause/resume. The ticking itself is `Scheduler`'s. */
export class ScheduleService {
  constructor(
    private readonly db: Db,
    private readonly tasks: TaskService,
    /** Called after a change, so a local scheduler re-reads the next due time. */
    private readonly onChange: () => void = () => {},
  ) {}

  async create(tenantId: string, input: CreateScheduleInput, who: Actor): Promise<Schedule> {
    const timing: Timing = {
      cron: input.cron ?? null,
      timezone: input.timezone ?? 'UTC',
      interval_seconds: input.interval_seconds ?? null,
    };
    assertTiming(timing);
    const { payload } = await this.tasks.checkTemplate(tenantId, input);
    const id = newId();
    try {
      const row = await this.db.transaction(async (tx) => {
        const [row] = await tx.query<ScheduleRow>(
          `insert into schedules (id, tenant_id, name, cron, timezone, interval_seconds, agent_id, task_type,
                                  title, description, payload, priority, max_attempts, paused, next_run_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15) returning *`,
          [
            id,
            tenantId,
            input.name,
            timing.cron,
            timing.timezone,
            timing.interval_seconds,
            input.agent_id,
            input.task_type,
            input.title,
            input.description ?? '',
            JSON.stringify(payload),
            input.priority ?? 0,
            input.max_attempts ?? 3,
            input.paused ?? false,
            nextRunAfter(timing, new Date()),
          ],
        );
        await writeJournal(tx, who, { action: 'schedule.create', target: id, data: { name: input.name } });
        return row!;
      });
      this.onChange();
      return toSchedule(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('conflict', `a schedule named ${input.name} already exists`);
      throw err;
    }
  }

  async get(tenantId: string, id: string): Promise<Schedule> {
    return toSchedule(await this.row(tenantId, id));
  }

  async list(tenantId: string, q: PageQuery) {
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: 'from schedules where tenant_id = $1',
        orderBy: 'created_at desc, id desc',
        params: [tenantId],
      },
      toSchedule,
    );
  }

  /** Changes the fields sent; a new timing (or resuming) sets the next run from now. */
  async update(tenantId: string, id: string, input: UpdateScheduleInput, who: Actor): Promise<Schedule> {
    const current = await this.row(tenantId, id);
    const merged = { ...current, ...withoutUndefined(input) };
    const timing: Timing = {
      cron: merged.cron,
      timezone: merged.timezone,
      interval_seconds: merged.interval_seconds,
    };
    const timingChanged =
      input.cron !== undefined || input.timezone !== undefined || input.interval_seconds !== undefined;
    if (timingChanged) assertTiming(timing);
    if (input.agent_id !== undefined || input.task_type !== undefined || input.payload !== undefined) {
      await this.tasks.checkTemplate(tenantId, merged);
    }
    const resumed = current.paused && merged.paused === false;
    const next =
      timingChanged || resumed || current.next_run_at.getTime() < Date.now() - 60_000
        ? nextRunAfter(timing, new Date())
        : current.next_run_at;
    const row = await this.db.transaction(async (tx) => {
      try {
        const [row] = await tx.query<ScheduleRow>(
          `update schedules set name = $3, cron = $4, timezone = $5, interval_seconds = $6, agent_id = $7,
                  task_type = $8, title = $9, description = $10, payload = $11::jsonb, priority = $12,
                  max_attempts = $13, paused = $14, next_run_at = $15, updated_at = now()
           where tenant_id = $1 and id = $2 returning *`,
          [
            tenantId,
            id,
            merged.name,
            merged.cron,
            merged.timezone,
            merged.interval_seconds,
            merged.agent_id,
            merged.task_type,
            merged.title,
            merged.description,
            JSON.stringify(merged.payload ?? {}),
            merged.priority,
            merged.max_attempts,
            merged.paused,
            next,
          ],
        );
        if (!row) throw notFound('schedule', id);
        await writeJournal(tx, who, {
          action: 'schedule.update',
          target: id,
          data: { fields: Object.keys(input) },
        });
        return row;
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('conflict', `a schedule named ${merged.name} already exists`);
        throw err;
      }
    });
    this.onChange();
    return toSchedule(row);
  }

  pause(tenantId: string, id: string, who: Actor) {
    return this.update(tenantId, id, { paused: true }, who);
  }

  resume(tenantId: string, id: string, who: Actor) {
    return this.update(tenantId, id, { paused: false }, who);
  }

  async delete(tenantId: string, id: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query('delete from schedules where tenant_id = $1 and id = $2 returning id', [
        tenantId,
        id,
      ]);
      if (rows.length === 0) throw notFound('schedule', id);
      await writeJournal(tx, who, { action: 'schedule.delete', target: id });
    });
  }

  private async row(tenantId: string, id: string): Promise<ScheduleRow> {
    const [row] = await this.db.query<ScheduleRow>(
      'select * from schedules where tenant_id = $1 and id = $2',
      [tenantId, id],
    );
    if (!row) throw notFound('schedule', id);
    return row;
  }
}
