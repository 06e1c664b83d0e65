import type { Queryable } from '../../db/db.ts';
import type { EvaluatorSpec } from '../evaluators/registry.ts';
import type { Summary } from './schema.ts';

/**
 * An experiment's summary, from its items: per evaluator mean and pass rate over the items it
 * scored, with the items it could not score (errors) beside them; latency p50/p95, tokens, cost.
 */
export async function summarise(
  db: Queryable,
  experimentId: string,
  specs: readonly EvaluatorSpec[],
): Promise<Summary> {
  const [byEvaluator, [totals]] = await Promise.all([
    db.query<{
      name: string;
      evaluator: string;
      mean: number | null;
      pass_rate: number | null;
      scored: number;
      errors: number;
    }>(
      `select s->>'name' as name, s->>'evaluator' as evaluator,
              avg((s->>'score')::float8) as mean,
              avg(case when (s->>'pass')::boolean then 1.0 else 0.0 end) filter (where s->>'pass' is not null)::float8 as pass_rate,
              count(s->>'score')::int as scored,
              count(*) filter (where s ? 'error')::int as errors
         from experiment_items i cross join lateral jsonb_array_elements(i.scores) s
        where i.experiment_id = $1
        group by 1, 2`,
      [experimentId],
    ),
    db.query<{
      p50: number | null;
      p95: number | null;
      tokens: number;
      cost: number;
      finished: number;
      passed: number;
    }>(
      `select percentile_cont(0.5) within group (order by latency_ms) filter (where status = 'completed') as p50,
              percentile_cont(0.95) within group (order by latency_ms) filter (where status = 'completed') as p95,
              coalesce(sum(tokens), 0)::float8 as tokens, coalesce(sum(cost), 0)::float8 as cost,
              count(*)::int as finished,
              count(*) filter (where status = 'completed' and not exists (
                select 1 from jsonb_array_elements(scores) s where not coalesce((s->>'pass')::boolean, false)))::int as passed
         from experiment_items where experiment_id = $1 and status in ('completed', 'error')`,
      [experimentId],
    ),
  ]);
  const order = specs.map((s) => s.name ?? s.type);
  byEvaluator.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const round = (v: number | null) => (v === null ? null : Math.round(Number(v) * 1e4) / 1e4);
  return {
    evaluators: order.map((name) => {
      const row = byEvaluator.find((r) => r.name === name);
      const spec = specs.find((s) => (s.name ?? s.type) === name)!;
      return {
        name,
        evaluator: spec.type,
        mean: round(row?.mean ?? null),
        pass_rate: round(row?.pass_rate ?? null),
        scored: row?.scored ?? 0,
        // A finished item without this score is an error: the evaluator errored, or the run did
        // and nothing could be scored. The mean is over `scored`; errors stand beside it.
        errors: Math.max(row?.errors ?? 0, (totals?.finished ?? 0) - (row?.scored ?? 0)),
      };
    }),
    latency_ms: { p50: round(totals?.p50 ?? null), p95: round(totals?.p95 ?? null) },
    tokens: Number(totals?.tokens ?? 0),
    cost_usd: Number(totals?.cost ?? 0),
    pass_rate: totals && totals.finished > 0 ? round(totals.passed / totals.finished) : null,
  };
}
