import type { Queryable } from '../../db/db.ts';
import type { ScoreResult } from '../evaluators/score.ts';
import type { Comparison, Experiment, Summary } from './schema.ts';

interface Row {
  experiment_id: string;
  dataset_item_id: string;
  seq: number;
  input: unknown;
  status: string;
  scores: ScoreResult[];
  run_id: string | null;
}

type Change = 'improved' | 'regressed' | 'unchanged';

/** The mean of an item's scores (errors left out); null when none scored. */
const meanOf = (scores: readonly ScoreResult[]): number | null => {
  const values = scores.map((s) => s.score).filter((v): v is number => v !== null);
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
};

function changeOf(base: number | null, other: number | null): { delta: number | null; change: Change } {
  if (base === null && other === null) return { delta: null, change: 'unchanged' };
  if (base === null) return { delta: null, change: 'improved' };
  if (other === null) return { delta: null, change: 'regressed' };
  const delta = Math.round((other - base) * 1e4) / 1e4;
  return { delta, change: delta > 0 ? 'improved' : delta < 0 ? 'regressed' : 'unchanged' };
}

/**
 * Two or more experiments item by item (matched by dataset item): each item's mean score in each,
 * and against the first (the baseline) whether it improved or regressed, and by how much.
 */
export async function compareExperiments(
  db: Queryable,
  experiments: readonly (Experiment & { summary: Summary })[],
  only?: Change,
): Promise<Comparison> {
  const ids = experiments.map((e) => e.id);
  const rows = await db.query<Row>(
    `select experiment_id, dataset_item_id, seq, input, status, scores, run_id
       from experiment_items where experiment_id = any($1::uuid[]) order by seq`,
    [ids],
  );
  const byItem = new Map<string, Map<string, Row>>();
  for (const r of rows) {
    const m = byItem.get(r.dataset_item_id) ?? new Map<string, Row>();
    byItem.set(r.dataset_item_id, m);
    m.set(r.experiment_id, r);
  }
  const counts = ids.slice(1).map((id) => ({ experiment_id: id, improved: 0, regressed: 0, unchanged: 0 }));
  const items: Comparison['items'] = [];
  for (const [itemId, m] of byItem) {
    const results = ids.map((id) => {
      const r = m.get(id);
      return {
        experiment_id: id,
        status: r?.status ?? null,
        mean: r ? round(meanOf(r.scores)) : null,
        scores: Object.fromEntries((r?.scores ?? []).map((s) => [s.name, s.score])),
        run_id: r?.run_id ?? null,
      };
    });
    const base = results[0]!.mean;
    const changes = results.slice(1).map((r, i) => {
      const c = changeOf(base, r.mean);
      counts[i]![c.change]++;
      return { experiment_id: r.experiment_id, ...c };
    });
    if (only && !changes.some((c) => c.change === only)) continue;
    items.push({ dataset_item_id: itemId, input: [...m.values()][0]!.input, results, changes });
  }
  return {
    baseline: ids[0]!,
    experiments: experiments.map((e) => ({ id: e.id, name: e.name, summary: e.summary })),
    counts,
    items,
  };
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 1e4) / 1e4);
