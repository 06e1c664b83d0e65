import { z } from 'zod';
import { pageFields } from '../../db/page.ts';
import { datasetRef, datasetVisibility, itemInput } from '../datasets/schema.ts';
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

/** What an experiment runs: an agent, a team, a model with a prompt, or the caller's own function. */
export const experimentSubjects = ['agent', 'team', 'prompt', 'external'] as const;
export type ExperimentSubject = (typeof experimentSubjects)[number];

/**
 * A model with a prompt: each item is one call through the gateway (billed and traced as any call),
 * its user message the template filled from the item (`{{input.message}}`, `{{input.payload.question}}`).
 */
export const promptSubject = z
  .object({
    /** Any model the gateway serves (`provider/model` or an alias), e.g. `mock/default`. */
    model: z.string().min(1).max(200),
    system: z.string().max(100_000).optional(),
    /** The user message: `{{input.…}}` placeholders walk the item's input; the rest is kept as written. */
    template: z.string().min(1).max(100_000),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).max(200_000).optional(),
    top_p: z.number().min(0).max(1).optional(),
    stop: z.array(z.string().min(1).max(100)).max(4).optional(),
  })
  .strict();
export type PromptSubject = z.infer<typeof promptSubject>;

export const createExperimentBody = z
  .object({
    name: z.string().max(200).optional(),
    /** A dataset id or name. */
    dataset: datasetRef,
    /** The dataset version to run (GET /v1/datasets/{id}/versions). Absent: its version as the experiment starts. */
    dataset_version: z.number().int().min(1).optional(),
    /** Run only the items carrying this tag (a split such as `test`). Absent: every item. */
    split: z.string().min(1).max(100).optional(),
    /**
     * What it runs, when neither `agent`, `team` nor `prompt` says: `external` is the caller's own
     * function, which reports each item's output (POST /v1/experiments/{id}/items/{item_id}/output).
     */
    subject: z.enum(experimentSubjects).optional(),
    /** An agent id or name; `name@3` pins version 3. One of `agent`, `team`, `prompt`, or `subject: external`. */
    agent: z.string().min(1).max(210).optional(),
    /**
     * The agent version to run (recorded, and passed to the runs as the pin). Absent: the agent's
     * version when the experiment starts, so every item runs on one version even if it is edited.
     */
    agent_version: z.number().int().min(1).optional(),
    /**
     * A team (multi-agent spec, swarm or DAG) by id or name, instead of an agent: each item is a run
     * of the team as it is then, its members at the versions the spec pins.
     */
    team: z.string().min(1).max(200).optional(),
    /** A model with a prompt, instead of an agent: each item is one model call. */
    prompt: promptSubject.optional(),
    evaluators: evaluatorSet,
    /**
     * An earlier experiment on the same dataset whose outputs pairwise judges compare each item's
     * output with (the item of the same dataset item; none there: that score is an error).
     */
    baseline_experiment: z.uuid().optional(),
    /**
     * Items running at once, each in a lane that is one queue task holding a worker slot: more than
     * the live workers' slots (under `tasks.tenant_max_running`) is refused with the limit named.
     * Absent: 4, or the limit when lower. For `external`, the caller's own concurrency, as recorded.
     */
    concurrency: z.number().int().min(1).max(64).optional(),
    budget: experimentBudget.optional(),
    /**
     * `private`: seen only by its owner and the tenant's admins. An experiment on a private agent or
     * a private dataset is private whatever is sent: its results are the agent's answers, the items.
     */
    visibility: datasetVisibility.optional(),
  })
  .strict()
  .refine(
    (b) =>
      [b.agent, b.team, b.prompt, b.subject === 'external' ? true : undefined].filter((x) => x !== undefined)
        .length === 1,
    { message: 'give one of agent, team, prompt, or subject: external', path: ['agent'] },
  )
  .refine(
    (b) =>
      b.subject === undefined ||
      b.subject === 'external' ||
      (b.subject === 'agent' && b.agent !== undefined) ||
      (b.subject === 'team' && b.team !== undefined) ||
      (b.subject === 'prompt' && b.prompt !== undefined),
    { message: 'subject names what runs: give its field (agent, team or prompt) with it', path: ['subject'] },
  )
  .refine((b) => b.agent !== undefined || b.agent_version === undefined, {
    message: "agent_version pins an agent (a team's members are pinned in its spec)",
    path: ['agent_version'],
  });

/** An item's output as the caller's own function made it (subject `external`). */
export const reportOutputBody = z
  .object({
    /** What the function returned, as text (the typed client sends JSON for anything not a string). */
    output: z.string().max(1_000_000).nullable().optional(),
    /** The function threw: the item is an error, not scored. */
    error: z
      .object({ code: z.string().min(1).max(100).optional(), message: z.string().max(10_000) })
      .strict()
      .optional(),
    /** How long the function took, in ms (the evaluators' `latency_under` reads it). */
    latency_ms: z.number().min(0).max(86_400_000),
    /** The trace of the function's own spans (OTLP), 32 hex digits. */
    trace_id: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional(),
    tokens: z.number().int().min(0).max(1e9).optional(),
    cost_usd: z.number().min(0).max(1e6).optional(),
  })
  .strict()
  .refine((b) => b.error === undefined || b.output === undefined || b.output === null, {
    message: 'give output or error, not both',
    path: ['error'],
  });
export type ReportOutput = z.infer<typeof reportOutputBody>;

export const itemParams = z.object({ id: z.uuid(), item_id: z.uuid() }).strict();

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
  /** Items this evaluator scored: `mean` and `pass_rate` are over these. */
  scored: z.number().int(),
  /** Finished items it has no score for: the evaluator errored, or the item's run did. */
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
  /** What it runs: `agent`, `team`, `prompt` (a model with a prompt) or `external` (the caller's function). */
  subject: z.enum(experimentSubjects),
  /** The agent it runs (a team's entry agent); null for a prompt or the caller's function. */
  agent_id: z.uuid().nullable(),
  agent_name: z.string().nullable(),
  agent_version: z.number().int().nullable(),
  /** The model and prompt it runs (subject `prompt`), or null. */
  prompt: promptSubject.nullable(),
  /** The dataset version its items came from (null: started before datasets had versions). */
  dataset_version: z.number().int().nullable(),
  /** The tag its items were chosen by, or null for every item. */
  split: z.string().nullable(),
  /** The experiment whose outputs pairwise judges compare with, or null. */
  baseline_experiment_id: z.uuid().nullable(),
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
  /** The user who started it (null: started before ownership). */
  owner: z.string().nullable(),
  visibility: datasetVisibility,
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
  /** The trace of the item's output: its run's, its model call's (prompt), or the one the caller reported. */
  trace_id: z.string().nullable(),
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

/** How an item changed against the baseline; `error`: its run or a score errored on either side. */
export const changes = ['improved', 'regressed', 'unchanged', 'error'] as const;

export const compareQuery = z
  .object({
    /** Two or more experiment ids, comma-separated; the first is the baseline unless `baseline` says. */
    ids: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.uuid()).min(2).max(10)),
    /** The experiment the others are measured against: one of `ids` (default: the first). */
    baseline: z.uuid().optional(),
    /** Only items that changed this way against the baseline (`error`: errored on either side). */
    change: z.enum(changes).optional(),
  })
  .strict()
  .refine((q) => q.baseline === undefined || q.ids.includes(q.baseline), {
    message: 'baseline must be one of ids',
    path: ['baseline'],
  });

export const comparisonSchema = z.object({
  baseline: z.uuid(),
  experiments: z.array(z.object({ id: z.uuid(), name: z.string(), summary: summarySchema })),
  counts: z.array(
    z.object({
      experiment_id: z.uuid(),
      improved: z.number().int(),
      regressed: z.number().int(),
      unchanged: z.number().int(),
      /** Items not compared: their run or one of their scores errored on either side. */
      error: z.number().int(),
    }),
  ),
  /**
   * Per experiment after the baseline, per evaluator both ran: the mean of the paired per-item
   * differences (candidate minus baseline) over the items both scored, its 95% paired-bootstrap
   * interval, and the verdict: `improved` or `regressed` only when the interval leaves out 0.
   */
  deltas: z.array(
    z.object({
      experiment_id: z.uuid(),
      evaluators: z.array(
        z.object({
          name: z.string(),
          pairs: z.number().int(),
          /** Items either side could not score: left out of the pairs, counted here. */
          errors: z.number().int(),
          mean_delta: z.number().nullable(),
          interval: z.object({ low: z.number(), high: z.number() }).nullable(),
          verdict: z.enum(['improved', 'regressed', 'unchanged']),
        }),
      ),
    }),
  ),
  items: z.array(
    z.object({
      dataset_item_id: z.uuid(),
      input: z.unknown(),
      /** The expected output, as copied when the (first) experiment started. */
      expected: z.unknown(),
      /**
       * Per experiment (in the order asked): the mean score over its evaluators (null when the run
       * or any score errored), and each evaluator's.
       */
      results: z.array(
        z.object({
          experiment_id: z.uuid(),
          status: z.string().nullable(),
          /** What the subject answered: the outputs side by side with `expected`. */
          output: z.string().nullable(),
          mean: z.number().nullable(),
          scores: z.record(z.string(), z.number().nullable()),
          /** The evaluators whose score errored on this item (their score is null). */
          errors: z.array(z.string()),
          run_id: z.uuid().nullable(),
        }),
      ),
      /**
       * Per experiment after the baseline: change of the mean score (positive: better); null with
       * `error` when either side errored.
       */
      changes: z.array(
        z.object({
          experiment_id: z.uuid(),
          delta: z.number().nullable(),
          change: z.enum(changes),
        }),
      ),
    }),
  ),
});
export type Comparison = z.infer<typeof comparisonSchema>;
