import { z } from 'zod';
import { labelName, versionMessage } from '../../agents/version-schema.ts';
import { datasetRef } from '../datasets/schema.ts';
import { evaluatorRef } from '../evaluators/registry.ts';
import { evaluatorSummary } from '../experiments/schema.ts';

/** The API shapes of version labels and their release gates. */

const evaluatorName = z.string().min(1).max(200);

/** What a gate asks of the experiment that lets a label move. */
export const gateBody = z
  .object({
    /** The dataset (id or name) the version must have been run on. */
    dataset: datasetRef,
    /** The split (item tag) the experiment must have run; absent: only experiments on every item count. */
    split: z.string().min(1).max(100).optional(),
    /**
     * The evaluator whose mean must reach the threshold: a score name (an inline evaluator's `name`,
     * else its type), or a named evaluator `{"ref": "helpfulness"}` (`helpfulness@3`: that version),
     * which the experiment must then have scored with. Absent: the mean of every evaluator's mean.
     */
    evaluator: z.union([evaluatorName, z.object({ ref: evaluatorRef.shape.ref }).strict()]).optional(),
    threshold: z.number().finite(),
    /** Evaluators that may not fall below their own floor, whatever the threshold's score. */
    floors: z
      .record(evaluatorName, z.number().finite())
      .refine((f) => Object.keys(f).length <= 50, 'at most 50 floors')
      .optional(),
  })
  .strict();
export type GateInput = z.infer<typeof gateBody>;

export const gateSchema = z.object({
  dataset_id: z.uuid(),
  /** The dataset's name when the gate was set. */
  dataset: z.string(),
  /** The split the experiment must have run (null: the whole dataset). */
  split: z.string().nullable(),
  evaluator: z.string().nullable(),
  /** The named evaluator the experiment must have scored with (version null: any of its versions). */
  evaluator_ref: z.object({ id: z.uuid(), name: z.string(), version: z.number().int().nullable() }).nullish(),
  threshold: z.number(),
  floors: z.record(z.string(), z.number()),
});
export type Gate = z.infer<typeof gateSchema>;

export const labelSchema = z.object({
  agent_id: z.uuid(),
  label: z.string(),
  /** The version it points at; null while only its gate is set (or after it was taken off). */
  version: z.number().int().nullable(),
  gate: gateSchema.nullable(),
  updated_by: z.string(),
  updated_at: z.string(),
});
export type Label = z.infer<typeof labelSchema>;

export const labelParams = z.object({ id: z.string().min(1).max(200), label: labelName }).strict();

export const moveBody = z
  .object({ version: z.number().int().min(1).max(2_147_483_647), message: versionMessage.optional() })
  .strict();

/** An evaluator's line in the evidence: its summary and the mean with errors counted as 0. */
const evidenceEvaluator = evaluatorSummary.extend({
  /** The mean over every finished item, an item it could not score counting 0: errors never help. */
  gate_mean: z.number().nullable(),
  floor: z.number().nullable(),
});

/** Why a gated move was allowed or refused: the experiment considered, its scores, what failed. */
export const gateEvidence = z.object({
  passed: z.boolean(),
  gate: gateSchema,
  version: z.number().int(),
  /** The newest completed experiment of exactly this version on the gate's dataset; null when none. */
  experiment: z
    .object({
      id: z.uuid(),
      name: z.string(),
      agent_version: z.number().int(),
      created_at: z.string(),
      completed_at: z.string().nullable(),
      evaluators: z.array(evidenceEvaluator),
    })
    .nullable(),
  /** The score held against the threshold: one evaluator's gate mean, or the mean of them all. */
  score: z.object({ of: z.string(), value: z.number().nullable(), threshold: z.number() }),
  /** What failed, one sentence each; empty when it passed. */
  failures: z.array(z.string()),
});
export type GateEvidence = z.infer<typeof gateEvidence>;

export const moveResult = z.object({
  label: labelSchema,
  /** The version it pointed at before this move. */
  previous_version: z.number().int().nullable(),
  /** The gate's evidence; null for a label with no gate. */
  evidence: gateEvidence.nullable(),
});
export type MoveResult = z.infer<typeof moveResult>;
