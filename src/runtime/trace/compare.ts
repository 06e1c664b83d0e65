import { z } from 'zod';
import type { RunRow, StepRow } from '../runs/rows.ts';
import { usageSchema } from '../schema.ts';

/** Two runs side by side (GET /v1/runs/compare): what each did, and how they differ. */

const comparedStep = z.object({
  idx: z.number().int(),
  kind: z.enum(['model', 'tool', 'retrieval']),
  name: z.string(),
  tool_call_id: z.string().nullable(),
  output: z.unknown(),
  error: z.string().nullable(),
  usage: usageSchema.nullable(),
  cost: z.number().nullable(),
  duration_ms: z.number(),
});

const comparedRun = z.object({
  id: z.uuid(),
  agent_id: z.uuid(),
  agent_version: z.number().int().nullable(),
  parent_run_id: z.uuid().nullable(),
  forked_from_step: z.number().int().nullable(),
  status: z.string(),
  input: z.string(),
  output: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  model_calls: z.number().int(),
  usage: usageSchema,
  /** Model steps priced by the catalog, in USD. */
  cost: z.number(),
  /** From start to end (or to now, for a run still going). */
  latency_ms: z.number().nullable(),
  steps: z.array(comparedStep),
});
type ComparedRun = z.infer<typeof comparedRun>;

export const runComparison = z.object({
  a: comparedRun,
  b: comparedRun,
  /**
   * Side by side by step index: null where a run has no such step. A fork and its parent are lined
   * up at the fork point, in the parent's numbering: the fork's own step 0 sits beside the parent's
   * step `forked_from_step`, and the steps before it, which the fork kept as recorded and did not
   * run again, are the parent's on both sides with `kept` true.
   */
  steps: z.array(
    z.object({
      idx: z.number().int(),
      a: comparedStep.nullable(),
      b: comparedStep.nullable(),
      kept: z.boolean(),
    }),
  ),
  /** The parent's step a fork starts at, when one run is the other's fork (the rows are lined up there). */
  aligned_at: z.number().int().nullable(),
  /** b minus a. */
  difference: z.object({
    same_output: z.boolean(),
    steps: z.number().int(),
    total_tokens: z.number().int(),
    cost: z.number(),
    latency_ms: z.number().nullable(),
  }),
});
export type RunComparison = z.infer<typeof runComparison>;

export const compareQuery = z.object({ a: z.uuid(), b: z.uuid() }).strict();

function compared(run: RunRow, steps: StepRow[]): ComparedRun {
  const end = run.completed_at ?? new Date();
  return {
    id: run.id,
    agent_id: run.agent_id,
    agent_version: run.agent_version,
    parent_run_id: run.parent_run_id,
    forked_from_step: run.forked_from_step,
    status: run.status,
    input: run.input,
    output: run.output,
    error: run.error_code ? { code: run.error_code, message: run.error_message ?? '' } : null,
    model_calls: run.model_calls,
    usage: run.usage,
    cost: round6(steps.reduce((sum, s) => sum + (s.cost ?? 0), 0)),
    latency_ms: run.started_at ? end.getTime() - run.started_at.getTime() : null,
    steps: steps.map((s) => ({
      idx: s.idx,
      kind: s.kind,
      name: s.name,
      tool_call_id: s.tool_call_id,
      output: s.output,
      error: s.error,
      usage: s.usage,
      cost: s.cost,
      duration_ms: Number(s.duration_ms),
    })),
  };
}

export function compareRuns(a: [RunRow, StepRow[]], b: [RunRow, StepRow[]]): RunComparison {
  const x = compared(...a);
  const y = compared(...b);
  // Where one run forked the other, each side's own steps start at the fork point.
  const forkAt = (child: ComparedRun, parent: ComparedRun) =>
    child.parent_run_id === parent.id ? (child.forked_from_step ?? 0) : 0;
  const offA = forkAt(x, y);
  const offB = forkAt(y, x);
  const at = offA || offB;
  const n = Math.max(x.steps.length + offA, y.steps.length + offB);
  const stepOf = (run: ComparedRun, off: number, other: ComparedRun, idx: number) =>
    idx < off ? (other.steps[idx] ?? null) : (run.steps[idx - off] ?? null);
  return {
    a: x,
    b: y,
    steps: Array.from({ length: n }, (_, idx) => ({
      idx,
      a: stepOf(x, offA, y, idx),
      b: stepOf(y, offB, x, idx),
      kept: idx < at,
    })),
    aligned_at: at > 0 ? at : null,
    difference: {
      same_output: x.output === y.output,
      steps: y.steps.length - x.steps.length,
      total_tokens: y.usage.total_tokens - x.usage.total_tokens,
      cost: round6(y.cost - x.cost),
      latency_ms: x.latency_ms === null || y.latency_ms === null ? null : y.latency_ms - x.latency_ms,
    },
  };
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
