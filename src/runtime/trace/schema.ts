import { z } from 'zod';
import { runSchema, runStatuses, usageSchema } from '../schema.ts';

/** The API shapes of run listings and run traces (GET /v1/runs, GET /v1/runs/:id/trace). */

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const listRunsQuery = z
  .object({
    /** An agent id, or its name. */
    agent_id: z.string().min(1).max(200).optional(),
    status: z.enum(runStatuses).optional(),
    /** Runs created at or after this instant (ISO-8601). */
    since: z.iso.datetime({ offset: true }).optional(),
    /** Runs created before this instant (ISO-8601). */
    until: z.iso.datetime({ offset: true }).optional(),
    /** `true`: runs that failed or have a failed step; `false`: the others. */
    has_error: flag.optional(),
    task_id: z.uuid().optional(),
    session_id: z.uuid().optional(),
    /** A multi-agent spec (team): the runs it ran. */
    team: z.uuid().optional(),
    /** Runs with a score of this name (POST /v1/runs/:id/scores, or an evaluator's) … */
    score_name: z.string().min(1).max(100).optional(),
    /** … at least this value (with `score_name`) … */
    score_min: z.coerce.number().optional(),
    /** … and at most this one. */
    score_max: z.coerce.number().optional(),
    /** Text the run's input or output contains (any case). */
    q: z.string().min(1).max(200).optional(),
    /** Runs whose model calls cost at least this much, in USD (priced by the catalog) … */
    min_cost: z.coerce.number().min(0).max(1_000_000).optional(),
    /** … and at most this much. */
    max_cost: z.coerce.number().min(0).max(1_000_000).optional(),
    /** Runs ingested from this app's traces (its `service.name`, POST /v1/traces). */
    service: z.string().min(1).max(200).optional(),
    /** Runs newer than this run id, oldest first: what a tail has not seen yet. */
    after: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** `next_cursor` of the previous page. */
    cursor: z.uuid().optional(),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof listRunsQuery>;

/** GET /v1/runs's query: also a cost range that can hold a run (kept apart: `.omit` refuses a refined object). */
export const listRunsParams = listRunsQuery.refine(
  (q) => q.min_cost === undefined || q.max_cost === undefined || q.min_cost <= q.max_cost,
  { path: ['max_cost'], message: 'max_cost is below min_cost' },
);

export const runSummary = runSchema.omit({ pending_tool_calls: true }).extend({
  agent_name: z.string().nullable(),
  /** A run ingested from an app's OpenTelemetry traces (POST /v1/traces): the app's `service.name`; null for Agentry's own. */
  service_name: z.string().nullable(),
  /** The OpenTelemetry trace id of the request that started the run, for the operator's own backend. */
  trace_id: z.string().nullable(),
  team: z.uuid().nullable(),
  /** From start to end (or until now while it runs); null while queued. */
  duration_ms: z.number().nullable(),
  /** The run's model calls priced by the catalog, in USD. */
  cost_usd: z.number(),
  has_error: z.boolean(),
  /** The run's scores: the latest value of each name (at most 8 names, by name). */
  scores: z.array(z.object({ name: z.string(), value: z.number() })),
});
export type RunSummary = z.infer<typeof runSummary>;

export const runList = z.object({
  data: z.array(runSummary),
  next_cursor: z.uuid().nullable(),
  /** The runs under these filters, all pages together. */
  total: z.number().int(),
});

/**
 * One node of a run's step tree. The tree is sent flat, in start order, each node naming its
 * parent: the root is the run itself (`id: "run"`); model calls, knowledge retrievals and a
 * swarm's handoffs hang under it; each tool call and approval wait under the model call that
 * asked for the tools.
 */
export const traceSpan = z.object({
  /** `run` for the root, `step-<idx>` for a step, `retrieval-<n>`, `approval-<n>`, `handoff-<n>`. */
  id: z.string(),
  parent_id: z.string().nullable(),
  /**
   * `run`, `model`, `tool`, `retrieval` (a knowledge lookup before the model calls), `approval`
   * (the wait for a person's decision on tools that need it: an error when denied, running while
   * it waits) or `handoff` (a swarm member handing over, until the next handoff or the run's end);
   * more kinds may come.
   */
  kind: z.string(),
  /**
   * The agent for the run, the model that answered, the tool, the knowledge bases searched, the
   * tools waiting for approval, or `from → to` for a handoff.
   */
  name: z.string(),
  status: z.enum(['ok', 'error', 'running']),
  error: z.string().nullable(),
  started_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  model: z.string().nullable(),
  usage: usageSchema.nullable(),
  cost_usd: z.number().nullable(),
  tool_call_id: z.string().nullable(),
  /** Tool arguments (secrets redacted, long strings cut); what a model call was sent, in summary. */
  input: z.unknown(),
  output: z.unknown(),
});
export type TraceSpan = z.infer<typeof traceSpan>;

export const runTrace = z.object({
  /** The OpenTelemetry trace id, to open the same run in the operator's tracing backend. */
  trace_id: z.string().nullable(),
  run: runSummary,
  spans: z.array(traceSpan),
});
export type RunTrace = z.infer<typeof runTrace>;
