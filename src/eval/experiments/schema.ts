import { z } from 'zod';
import { pageFields } from '../../db/page.ts';
import { datasetRef, itemInput } from '../datasets/schema.ts';
import { evaluatorSet } from '../evaluators/registry.ts';
import { scoreResult } from '../evaluators/score.ts';

/** The API shapes of experiments, their items, summaries and comparisons. */

export const experimentStatuses = [
  'running',
  'completed',
  'cancelled',
  'budget_exhausted',
  'failed',
] as const;

export const experimentBudget = z
  .object({
    /** Stop (status `budget_exhausted`) once the items' runs have cost this much, in USD. */
    max_cost_usd: z.number().positive().optional(),
    /** Stop once the items' runs have used this many tokens. */
    max_tokens: z.number().int().positive().optional(),
    /** The LLM judges' own budget, in USD: past it, judge scores become per-item errors. */
    judge_max_cost_usd: z.number().positive().optional(),
  })
  .strict();

export const createExperimentBody = z
  .object({
    name: z.string().max(200).optional(),
    /** A dataset id or name. */
    dataset: datasetRef,
    /** An agent id or name; `name@3` pins version 3. Either this or `team`. */
    agent: z.string().min(1).max(210).optional(),
    /** The agent version to run (recorded, and passed to the runs as the pin). */
    agent_version: z.number().int().min(1).optional(),
    /**
     * A team (multi-agent spec, swarm or DAG) by id or name, instead of an agent: each item is a run
     * of the team as it is then, its members at the versions the spec pins.
     */
    team: z.string().min(1).max(200).optional(),
    evaluators: evaluatorSet,
    /** Items running at once (each is one queue task, a lane, so the queue's workers bound it too). */
    concurrency: z.number().int().min(1).max(64).default(4),
    budget: experimentBudget.optional(),
  })
  .strict()
  .refine((b) => (b.agent === undefined) !== (b.team === undefined), {
    message: 'give either agent or team',
    path: ['agent'],
  })
  .refine((b) => b.team === undefined || b.agent_version === undefined, {
    message: "agent_version pins an agent; a team's members are pinned in its spec",
    path: ['agent_version'],
  });
export type CreateExperimentInput = z.infer<typeof createExperimentBody>;

export const progressSchema = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  errors: z.number().int(),
  /** Items finished (completed or in error) as a share of the total, 0 to 1. */
  fraction: z.number(),
});

export const evaluatorSummary = z.object({
  name: z.string(),
  evaluator: z.string(),
  mean: z.number().nullable(),
  pass_rate: z.number().nullable(),
  scored: z.number().int(),
  errors: z.number().int(),
});

export const summarySchema = z.object({
  evaluators: z.array(evaluatorSummary),
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  tokens: z.number(),
  cost_usd: z.number(),
  /** Items whose every evaluator passed, as a share of the finished items. */
  pass_rate: z.number().nullable(),
});
export type Summary = z.infer<typeof summarySchema>;

export const experimentSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  dataset_id: z.uuid(),
  agent_id: z.uuid(),
  agent_name: z.string(),
  agent_version: z.number().int().nullable(),
  /** The team it runs (its entry agent is `agent_id`), or null for one agent. */
  team_id: z.uuid().nullable(),
  team_name: z.string().nullable(),
  evaluators: z.array(z.record(z.string(), z.unknown())),
  concurrency: z.number().int(),
  budget: z.record(z.string(), z.unknown()),
  status: z.enum(experimentStatuses),
  stop_reason: z.string().nullable(),
  progress: progressSchema,
  judge_cost_usd: z.number(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});
export type Experiment = z.infer<typeof experimentSchema>;

export const experimentWithSummary = experimentSchema.extend({ summary: summarySchema });

export const experimentItemSchema = z.object({
  id: z.uuid(),
  seq: z.number().int(),
  dataset_item_id: z.uuid(),
  input: itemInput,
  expected: z.unknown(),
  status: z.enum(['pending', 'running', 'completed', 'error']),
  output: z.string().nullable(),
  scores: z.array(scoreResult),
  run_id: z.uuid().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  latency_ms: z.number().nullable(),
  tokens: z.number().nullable(),
  cost_usd: z.number().nullable(),
});
export type ExperimentItem = z.infer<typeof experimentItemSchema>;

export const listItemsQuery = z
  .object({
    ...pageFields,
    status: z.enum(['pending', 'running', 'completed', 'error']).optional(),
    /** Items where this evaluator failed (or errored). */
    failed: z.string().min(1).max(100).optional(),
  })
  .strict();

export const compareQuery = z
  .object({
    /** Two or more experiment ids, comma-separated; the first is the baseline. */
    ids: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.uuid()).min(2).max(10)),
    /** Only items that changed this way against the baseline. */
    change: z.enum(['improved', 'regressed', 'unchanged']).optional(),
  })
  .strict();

export const comparisonSchema = z.object({
  baseline: z.uuid(),
  experiments: z.array(z.object({ id: z.uuid(), name: z.string(), summary: summarySchema })),
  counts: z.array(
    z.object({
      experiment_id: z.uuid(),
      improved: z.number().int(),
      regressed: z.number().int(),
      unchanged: z.number().int(),
    }),
  ),
  items: z.array(
    z.object({
      dataset_item_id: z.uuid(),
      input: z.unknown(),
      /** Per experiment (in the order asked): the mean score over its evaluators, and each evaluator's. */
      results: z.array(
        z.object({
          experiment_id: z.uuid(),
          status: z.string().nullable(),
          mean: z.number().nullable(),
          scores: z.record(z.string(), z.number().nullable()),
          run_id: z.uuid().nullable(),
        }),
      ),
      /** Per experiment after the baseline: change of the mean score (positive: better). */
      changes: z.array(
        z.object({
          experiment_id: z.uuid(),
          delta: z.number().nullable(),
          change: z.enum(['improved', 'regressed', 'unchanged']),
        }),
      ),
    }),
  ),
});
export type Comparison = z.infer<typeof comparisonSchema>;
