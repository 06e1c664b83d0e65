import { z } from 'zod';
import { pageFields } from '../db/page.ts';

/** The API shapes of tasks. Row types (as stored) live in `rows.ts`; these are what clients see. */

export const taskStatuses = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof taskStatuses)[number];
/**
 * What becomes of a task of a type when it succeeds: `keep` (the default) keeps it `completed`;
 * `delete` deletes it (high-volume work), after its `completed` event and callback are written.
 */
export const retentions = ['keep', 'delete'] as const;
export type Retention = (typeof retentions)[number];
/** The events that end a task's stream (unless a retry logs more after them). */
export const terminalEventTypes: readonly string[] = ['completed', 'failed', 'cancelled'];

const uuid = z.uuid();
/**
 * The agent a task is for, as the client names it. The queue keeps it as given and asks its
 * `AgentLookup` (tasks.ts) what it means: it knows nothing more about agents.
 */
export const agentRef = z
  .string()
  .min(1)
  .max(200)
  .describe('an agent id, or its name (any case); `name@3` runs version 3');

export const createTaskBody = z
  .object({
    agent_id: agentRef,
    /** Run this version of the agent (also `name@3` in agent_id); absent: the latest when the task starts. */
    agent_version: z.number().int().min(1).max(2_147_483_647).optional(),
    task_type: z.string().min(1).max(64),
    title: z.string().min(1).max(500),
    description: z.string().max(100_000).optional(),
    payload: z.unknown().optional(),
    /** Higher runs first. */
    priority: z.number().int().min(-1000).max(1000).optional(),
    run_at: z.iso.datetime({ offset: true }).optional(),
    delay_seconds: z
      .number()
      .min(0)
      .max(365 * 24 * 3600)
      .optional(),
    max_attempts: z.number().int().min(1).max(100).optional(),
    idempotency_key: z.string().min(1).max(200).optional(),
    callback_url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
    parent_task_id: uuid.optional(),
    session_id: uuid.optional(),
    /**
     * Run by an external worker of this name: Agentry's workers never take the task, which stays
     * pending until the worker reports through `POST /v1/tasks/{id}/callback`.
     */
    external: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => b.run_at === undefined || b.delay_seconds === undefined, {
    message: 'send run_at or delay_seconds, not both',
    path: ['delay_seconds'],
  });
export type CreateTaskInput = z.infer<typeof createTaskBody>;

export const taskSchema = z.object({
  id: uuid,
  tenant_id: uuid,
  agent_id: uuid,
  /** The agent version the task runs: pinned when it was created, else the latest when its first try began. */
  agent_version: z.number().int().nullable(),
  task_type: z.string(),
  status: z.enum(taskStatuses),
  priority: z.number().int(),
  title: z.string(),
  description: z.string(),
  payload: z.unknown(),
  result: z.unknown(),
  result_summary: z.string().nullable(),
  error_message: z.string().nullable(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  run_at: z.string(),
  lease_owner: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  callback_url: z.string().nullable(),
  callback_attempts: z.number().int(),
  callback_status: z.string().nullable(),
  parent_task_id: z.string().nullable(),
  session_id: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  updated_at: z.string(),
  /** The external worker that runs it and reports by callback; null: Agentry's own workers. */
  external: z.string().nullable(),
  /** Its task type's retention: with `delete`, the task is gone (404) once it has succeeded. */
  retention: z.enum(retentions),
});
export type Task = z.infer<typeof taskSchema>;

export const listTasksQuery = z
  .object({
    agent_id: agentRef.optional(),
    status: z.enum(taskStatuses).optional(),
    task_type: z.string().max(64).optional(),
    /** Tasks created at or after this instant (ISO-8601). */
    since: z.iso.datetime({ offset: true }).optional(),
    /** Tasks created before this instant (ISO-8601). */
    until: z.iso.datetime({ offset: true }).optional(),
    ...pageFields,
  })
  .strict();
export type ListTasksQuery = z.infer<typeof listTasksQuery>;

/** One row of a task's callback outbox: where the outcome goes and how its delivery went. */
export const callbackDeliverySchema = z.object({
  id: uuid,
  url: z.string(),
  attempts: z.number().int(),
  /** The HTTP status of the last attempt, or why it failed. */
  last_status: z.string().nullable(),
  delivered_at: z.string().nullable(),
  given_up_at: z.string().nullable(),
  next_attempt_at: z.string(),
  created_at: z.string(),
});
export type CallbackDelivery = z.infer<typeof callbackDeliverySchema>;

/** What an external worker reports through `POST /v1/tasks/:id/callback`. */
export const reportBody = z
  .object({
    status: z.enum(['completed', 'failed']),
    result: z.unknown().optional(),
    result_summary: z.string().max(100_000).optional(),
    error: z.string().max(100_000).optional(),
  })
  .strict()
  .refine((b) => b.status !== 'failed' || b.error !== undefined, {
    message: 'a failed report needs an error',
    path: ['error'],
  });
export type ReportInput = z.infer<typeof reportBody>;

export const queueStatusSchema = z.object({
  counts: z.record(z.string(), z.number().int()),
  by_agent: z.array(z.object({ agent_id: z.string(), status: z.string(), count: z.number().int() })),
  oldest_pending_age_seconds: z.number().nullable(),
  running_leases: z.number().int(),
  expired_leases: z.number().int(),
});
export type QueueStatus = z.infer<typeof queueStatusSchema>;
