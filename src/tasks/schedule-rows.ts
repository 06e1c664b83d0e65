import { z } from 'zod';
import { agentRef } from './schema.ts';

/** A `schedules` row as stored. */
export interface ScheduleRow {
  id: string;
  tenant_id: string;
  name: string;
  cron: string | null;
  timezone: string;
  interval_seconds: number | null;
  agent_id: string;
  task_type: string;
  title: string;
  description: string;
  payload: unknown;
  priority: number;
  max_attempts: number;
  paused: boolean;
  next_run_at: Date;
  last_run_at: Date | null;
  last_task_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const fields = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, "_", "." and "-", at most 100'),
  /** Five or six fields (seconds first when six), evaluated in `timezone`. */
  cron: z.string().min(1).max(200).nullable(),
  /** IANA zone name, e.g. Europe/Paris. */
  timezone: z.string().min(1).max(64),
  interval_seconds: z
    .number()
    .int()
    .min(1)
    .max(366 * 24 * 3600)
    .nullable(),
  agent_id: z.uuid(),
  task_type: z.string().min(1).max(64),
  title: z.string().min(1).max(500),
  description: z.string().max(100_000),
  payload: z.unknown(),
  priority: z.number().int().min(-1000).max(1000),
  max_attempts: z.number().int().min(1).max(100),
  paused: z.boolean(),
};

/** A client names the agent by id or name; the route stores its id. */
const inputFields = { ...fields, agent_id: agentRef };

export const createScheduleBody = z
  .object(inputFields)
  .partial()
  .required({ name: true, agent_id: true, task_type: true, title: true })
  .strict();
export type CreateScheduleInput = z.infer<typeof createScheduleBody>;

export const updateScheduleBody = z.object(inputFields).partial().strict();
export type UpdateScheduleInput = z.infer<typeof updateScheduleBody>;

export const scheduleSchema = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  ...fields,
  next_run_at: z.string(),
  last_run_at: z.string().nullable(),
  last_task_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Schedule = z.infer<typeof scheduleSchema>;

export const toSchedule = (r: ScheduleRow): Schedule => ({
  ...r,
  payload: r.payload ?? {},
  next_run_at: r.next_run_at.toISOString(),
  last_run_at: r.last_run_at ? r.last_run_at.toISOString() : null,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});
