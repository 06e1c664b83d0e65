import type { ScoreResult } from '../evaluators/score.ts';
import type { ExperimentItem } from './schema.ts';

/** An experiment item as stored, and as the API answers it. */
export interface ItemRow {
  id: string;
  seq: number;
  dataset_item_id: string;
  input: ExperimentItem['input'];
  expected: unknown;
  status: ExperimentItem['status'];
  output: string | null;
  scores: ScoreResult[];
  run_id: string | null;
  trace_id: string | null;
  error_code: string | null;
  error_message: string | null;
  latency_ms: number | null;
  tokens: number | null;
  cost: number | null;
}

export const toItem = (r: ItemRow): ExperimentItem => ({
  id: r.id,
  seq: r.seq,
  dataset_item_id: r.dataset_item_id,
  input: r.input,
  expected: r.expected ?? null,
  status: r.status,
  output: r.output,
  scores: r.scores,
  run_id: r.run_id,
  trace_id: r.trace_id,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  latency_ms: r.latency_ms,
  tokens: r.tokens,
  cost_usd: r.cost,
});
