import { z } from 'zod';
import { pageFields } from '../../db/page.ts';
import { listRunsQuery } from '../../runtime/trace/schema.ts';
import { scoreConfigRef, scoreConfigSchema } from '../scores/config-schema.ts';
import { scoreSchema } from '../scores/scores.ts';

/**
 * The API shapes of annotation queues: runs set aside for people to review against a set of score
 * configs, each reviewer claiming the next item for a while (docs/review.md).
 */

const queueName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,99}$/, 'letters, digits, spaces, ".", "_", ":" and "-"');

export const newQueueBody = z
  .object({
    name: queueName,
    description: z.string().max(2000).optional(),
    /** The score configs a reviewer submits, by id or name (live ones), in the order shown. */
    score_configs: z.array(scoreConfigRef).min(1).max(20),
    /** Where "add to dataset" puts an item unless the request names another: id or name. */
    dataset: z.string().min(1).max(200).optional(),
    /** How long a claim holds before the item goes back to the queue (default 600 s). */
    lease_seconds: z.number().int().min(10).max(86_400).optional(),
  })
  .strict();
export type NewQueue = z.infer<typeof newQueueBody>;

export const queuePatch = z
  .object({
    name: queueName.optional(),
    description: z.string().max(2000).optional(),
    score_configs: z.array(scoreConfigRef).min(1).max(20).optional(),
    /** null: no target dataset. */
    dataset: z.string().min(1).max(200).nullable().optional(),
    lease_seconds: z.number().int().min(10).max(86_400).optional(),
  })
  .strict();
export type QueuePatch = z.infer<typeof queuePatch>;

export const queueCounts = z.object({
  total: z.number().int(),
  /** Waiting, with those whose claim has expired. */
  pending: z.number().int(),
  /** Held by a reviewer whose claim has not expired. */
  claimed: z.number().int(),
  done: z.number().int(),
  skipped: z.number().int(),
});

export const queueSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  score_configs: z.array(scoreConfigSchema),
  dataset_id: z.uuid().nullable(),
  lease_seconds: z.number().int(),
  counts: queueCounts,
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Queue = z.infer<typeof queueSchema>;

export const queueParams = z.object({ id: z.uuid() }).strict();
export const queueItemParams = z.object({ id: z.uuid(), item_id: z.uuid() }).strict();
export const queueListQuery = z.object(pageFields).strict();

/**
 * The runs to add: GET /v1/runs's filters (agent by id or name, status, time, error, text, score,
 * cost, task, session, team) and the agent's version; at most `limit` runs, newest first.
 */
export const runFilter = listRunsQuery.omit({ cursor: true, after: true, limit: true }).extend({
  agent_version: z.number().int().min(1).optional(),
  limit: z.number().int().min(1).max(5000).default(500),
});
export type RunFilter = z.infer<typeof runFilter>;

export const fillBody = z
  .object({
    /** Runs under GET /v1/runs's filters (query values as JSON: numbers as numbers). */
    runs: runFilter.optional(),
    /** Every item of an experiment that has a run, with the item's expected output. */
    experiment_id: z.uuid().optional(),
    /** These runs. */
    run_ids: z.array(z.uuid()).min(1).max(5000).optional(),
  })
  .strict()
  .refine(
    (b) => [b.runs, b.experiment_id, b.run_ids].filter((x) => x !== undefined).length === 1,
    'send one of runs, experiment_id or run_ids',
  );
export type FillBody = z.infer<typeof fillBody>;

export const fillResult = z.object({
  /** Runs added now. */
  added: z.number().int(),
  /** Runs that matched and were in the queue already. */
  already: z.number().int(),
});

export const itemStatuses = ['pending', 'claimed', 'done', 'skipped'] as const;

export const queueItemSchema = z.object({
  id: z.uuid(),
  queue_id: z.uuid(),
  run_id: z.uuid(),
  experiment_id: z.uuid().nullable(),
  status: z.enum(itemStatuses),
  claimed_by: z.string().nullable(),
  claim_expires_at: z.string().nullable(),
  reviewed_by: z.string().nullable(),
  reviewed_at: z.string().nullable(),
  comment: z.string().nullable(),
  dataset_item_id: z.uuid().nullable(),
  created_at: z.string(),
});
export type QueueItem = z.infer<typeof queueItemSchema>;

/** What a reviewer sees of an item: the run's input and output, the expected output, earlier scores. */
export const reviewItemSchema = z.object({
  item: queueItemSchema,
  agent_id: z.uuid(),
  agent_name: z.string().nullable(),
  agent_version: z.number().int().nullable(),
  input: z.string(),
  output: z.string().nullable(),
  run_status: z.string(),
  /** The experiment item's expected output; null when there is none. */
  expected: z.unknown(),
  /** The OpenTelemetry trace id of the request that started the run, if there was one. */
  trace_id: z.string().nullable(),
  /** The run's step tree (GET). */
  trace_url: z.string(),
  /** The run's scores so far, from every source. */
  scores: z.array(scoreSchema),
});
export type ReviewItem = z.infer<typeof reviewItemSchema>;

export const nextResult = z.object({
  /** The claimed item; null when nothing is left to claim. */
  review: reviewItemSchema.nullable(),
  counts: queueCounts,
});

const submittedScore = z
  .object({
    /** One of the queue's configs, by id or name. */
    config: scoreConfigRef,
    value: z.union([z.number().finite(), z.boolean(), z.string().min(1).max(100)]),
  })
  .strict();

export const submitBody = z
  .object({
    /** A value for each of the queue's score configs. */
    scores: z.array(submittedScore).min(1).max(20),
    comment: z.string().max(10_000).optional(),
  })
  .strict();
export type SubmitBody = z.infer<typeof submitBody>;

export const submitResult = z.object({ item: queueItemSchema, scores: z.array(scoreSchema) });

export const toDatasetBody = z
  .object({
    /** The dataset, by id or name; none: the queue's. */
    dataset: z.string().min(1).max(200).optional(),
    /** The corrected expected output; none: the run's output as it is. */
    expected: z.unknown().optional(),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
  })
  .strict();
export type ToDatasetBody = z.infer<typeof toDatasetBody>;

export const progressSchema = queueCounts.extend({
  reviewers: z.array(
    z.object({
      reviewer: z.string(),
      done: z.number().int(),
      skipped: z.number().int(),
      /** Items this reviewer holds now. */
      claimed: z.number().int(),
    }),
  ),
});
export type Progress = z.infer<typeof progressSchema>;
