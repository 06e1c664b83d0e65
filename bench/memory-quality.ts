/**
 * `npm run eval:memory`: retrieval quality of knowledge-base search, hit@5, recall@5 and MRR per mode
 * (text, vector, hybrid) and per question category, on two sets in the repo: the FriendsQA subset
 * (bench/fixtures, Apache-2.0: one knowledge base per episode, one document per dialogue turn,
 * questions labelled with their evidence turns) and the 40 paraphrased notes of
 * test/memory/fixtures/notes-set.ts. PGlite in memory, the offline embedder (~1,250 turns: a minute
 * or two). Hybrid is measured against its better list, the floor it must reach. The scores are
 * deterministic: two checkouts compare by running it in each.
 *
 *   npm run eval:memory [-- --episodes s01_e23,s02_e24]
 */
import { parseArgs } from 'node:util';
import { migrate } from '../src/db/migrate.ts';
import { PgliteDb } from '../src/db/pglite.ts';
import { OfflineEmbedder } from '../src/memory/embeddings.ts';
import { friendsqaSets } from '../test/helpers/friendsqa-set.ts';
import {
  defaultVariants,
  type EvalSet,
  evaluate,
  notesSet,
  type Scores,
  type VariantScores,
} from '../test/helpers/retrieval-quality.ts';

const { values } = parseArgs({ options: { episodes: { type: 'string' } } });
const db = await PgliteDb.open('memory://');
await migrate(db);
const embedder = new OfflineEmbedder();
const started = performance.now();

/** Each set scored on its own knowledge base, then merged, weighted by each set's question count. */
async function score(sets: EvalSet[]): Promise<VariantScores[]> {
  const each: VariantScores[][] = [];
  for (const set of sets) each.push(await evaluate(db, embedder, set, defaultVariants));
  const merge = (parts: Scores[]): Scores => {
    const n = parts.reduce((a, p) => a + p.n, 0);
    const avg = (k: 'hit5' | 'recall5' | 'mrr') => parts.reduce((a, p) => a + p[k] * p.n, 0) / Math.max(n, 1);
    return { n, hit5: avg('hit5'), recall5: avg('recall5'), mrr: avg('mrr') };
  };
  return each[0]!.map((first, v) => {
    const rows = each.map((rs) => rs[v]!);
    const categories = [...new Set(rows.flatMap((r) => Object.keys(r.byCategory)))];
    return {
      ...first,
      all: merge(rows.map((r) => r.all)),
      byCategory: Object.fromEntries(
        categories.map((c) => [c, merge(rows.flatMap((r) => r.byCategory[c] ?? []))]),
      ),
    };
  });
}

const fmt = (s: Scores) =>
  `${s.hit5.toFixed(3)}  ${s.recall5.toFixed(3)}  ${s.mrr.toFixed(3)}  ${String(s.n).padStart(4)}`;
function print(title: string, rows: VariantScores[]) {
  console.log(`\n${title}\n${'mode'.padEnd(10)} ${'category'.padEnd(12)} hit@5  rec@5  MRR       n`);
  for (const r of rows) {
    console.log(`${r.variant.padEnd(10)} ${'all'.padEnd(12)} ${fmt(r.all)}   (ran: ${r.ran})`);
    for (const [k, s] of Object.entries(r.byCategory).sort())
      console.log(`${''.padEnd(10)} ${k.padEnd(12)} ${fmt(s)}`);
  }
  const [text, vector, hybrid] = rows.map((r) => r.all) as [Scores, Scores, Scores];
  const better = (k: 'hit5' | 'recall5' | 'mrr') =>
    (hybrid[k] / Math.max(text[k], vector[k], 0.001)).toFixed(3);
  console.log(
    `hybrid / better list: hit@5 ${better('hit5')}, recall@5 ${better('recall5')}, MRR ${better('mrr')}`,
  );
}

const friends = friendsqaSets(undefined, { episodes: values.episodes?.split(',') });
const friendsRows = await score(friends);
const notesRows = await score([notesSet]);
await db.close();
print(`FriendsQA subset (episodes ${friends.map((s) => s.name.slice(10)).join(', ')})`, friendsRows);
print('Notes set (40 paraphrased questions)', notesRows);
console.log(`${Math.round((performance.now() - started) / 1000)} s`);
const summary = (rows: VariantScores[]) => rows.map((r) => ({ variant: r.variant, ran: r.ran, ...r.all }));
// hybrid's hit@5 per set, for `npm run bench`: the scores are deterministic, so a drop is a change.
const hybridHit5 = (rows: VariantScores[]) =>
  Math.round((rows.find((r) => r.variant === 'hybrid')?.all.hit5 ?? 0) * 1000) / 1000;
console.log(
  JSON.stringify({
    bench: 'memory-quality',
    friendsqa: summary(friendsRows),
    notes: summary(notesRows),
    figures: { hit5_hybrid_friendsqa: hybridHit5(friendsRows), hit5_hybrid_notes: hybridHit5(notesRows) },
  }),
);
