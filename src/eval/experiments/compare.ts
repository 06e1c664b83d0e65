import type { Queryable } from '../../db/db.ts';
import type { ScoreResult } from '../evaluators/score.ts';
import { pairedDelta } from './paired-delta.ts';
import type { Comparison, Experiment, Summary } from './schema.ts';

interface Row {
  experiment_id: string;
  dataset_item_id: string;
  seq: number;
  input: unknown;
  expected: unknown;
  status: string;
  output: string | null;
  scores: ScoreResult[];
  run_id: string | null;
}

export type Change = 'improved' | 'regressed' | 'unchanged' | 'error';

/** A score that could not be given (the evaluator threw, its judge failed): an error, never a gap. */
const errored = (s: ScoreResult) => s.score === null || s.error !== undefined;

/**
 * An item's mean over its evaluators, or null when it has none to stand on: its run ended in error,
 * or one of its scores errored (leaving that score out would make the mean of a different set).
 */
function meanOf(row: Row | undefined): number | null {
  if (row?.status !== 'completed' || row.scores.length === 0 || row.scores.some(errored)) return null;
  return row.scores.reduce((a, s) => a + s.score!, 0) / row.scores.length;
}

/**
 * An item's mean must move by more than this to count as a change: a thousandth of a 0-1 score is
 * below what any evaluator means (a judge's rounding, float noise), and well above the 1e-4 the
 * means are rounded to.
 */
export const ITEM_EPSILON = 0.001;

/** An item is compared only when both sides scored it fully; otherwise it is an error, counted apart. */
function changeOf(base: number | null, other: number | null): { delta: number | null; change: Change } {
  if (base === null || other === null) return { delta: null, change: 'error' };
  const delta = round(other - base)!;
  const change = delta > ITEM_EPSILON ? 'improved' : delta < -ITEM_EPSILON ? 'regressed' : 'unchanged';
  return { delta, change };
}

/** One evaluator's score on an item, or null when it has none (the run or the evaluator errored). */
function scoreOf(row: Row, name: string): number | null {
  if (row.status !== 'completed') return null;
  const s = row.scores.find((x) => x.name === name);
  return !s || errored(s) ? null : s.score;
}

/**
 * Per evaluator both experiments ran (by name): the paired change over the items both scored, and
 * the items either side could not score (errors, left out of the pairs and counted).
 */
function evaluatorDeltas(
  byItem: Map<string, Map<string, Row>>,
  base: Experiment & { summary: Summary },
  other: Experiment & { summary: Summary },
): Comparison['deltas'][number]['evaluators'] {
  const theirs = new Set(other.summary.evaluators.map((e) => e.name));
  return base.summary.evaluators
    .filter((e) => theirs.has(e.name))
    .map(({ name }) => {
      const diffs: number[] = [];
      let errors = 0;
      for (const m of byItem.values()) {
        const a = m.get(base.id);
        const b = m.get(other.id);
        if (!a || !b) continue;
        const x = scoreOf(a, name);
        const y = scoreOf(b, name);
        if (x === null || y === null) errors++;
        else diffs.push(y - x);
      }
      return { name, errors, ...pairedDelta(diffs) };
    });
}

/**
 * Two or more experiments item by item (matched by dataset item): each item's mean score in each,
 * and against the first (the baseline) whether it improved or regressed, and by how much. An item
 * that errored on either side (its run, or any of its scores) is an `error`, neither better nor worse.
 * Per evaluator, the paired change with its interval and a verdict (`paired-delta.ts`).
 */
export async function compareExperiments(
  db: Queryable,
  experiments: readonly (Experiment & { summary: Summary })[],
  only?: Change,
): Promise<Comparison> {
  const ids = experiments.map((e) => e.id);
  const rows = await db.query<Row>(
    `select experiment_id, dataset_item_id, seq, input, expected, status, output, scores, run_id
       from experiment_items where experiment_id = any($1::uuid[]) order by seq`,
    [ids],
  );
  const byItem = new Map<string, Map<string, Row>>();
  for (const r of rows) {
    const m = byItem.get(r.dataset_item_id) ?? new Map<string, Row>();
    byItem.set(r.dataset_item_id, m);
    m.set(r.experiment_id, r);
  }
  const counts = ids
    .slice(1)
    .map((id) => ({ experiment_id: id, improved: 0, regressed: 0, unchanged: 0, error: 0 }));
  const items: Comparison['items'] = [];
  for (const [itemId, m] of byItem) {
    const results = ids.map((id) => {
      const r = m.get(id);
      return {
        experiment_id: id,
        status: r?.status ?? null,
        output: r?.output ?? null,
        mean: round(meanOf(r)),
        scores: Object.fromEntries((r?.scores ?? []).map((s) => [s.name, s.score])),
        errors: (r?.scores ?? []).filter(errored).map((s) => s.name),
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
    const first = [...m.values()][0]!;
    items.push({
      dataset_item_id: itemId,
      input: first.input,
      expected: first.expected ?? null,
      results,
      changes,
    });
  }
  return {
    baseline: ids[0]!,
    experiments: experiments.map((e) => ({ id: e.id, name: e.name, summary: e.summary })),
    counts,
    deltas: experiments.slice(1).map((e) => ({
      experiment_id: e.id,
      evaluators: evaluatorDeltas(byItem, experiments[0]!, e),
    })),
    items,
  };
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 1e4) / 1e4);
