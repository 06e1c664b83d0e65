/**
 * `npm run eval:memory`: retrieval quality of knowledge-base search, hit@5, recall@5 and MRR per mode
 * (text, vector, hybrid) and per question category, on the 40 paraphrased notes of
 * test/memory/fixtures/notes-set.ts (PGlite in memory, the offline embedder). Hybrid is measured
 * against its better list, the floor it must reach (test/memory/quality.test.ts fails otherwise).
 *
 *   npm run eval:memory
 */
import { migrate } from '../src/db/migrate.ts';
import { PgliteDb } from '../src/db/pglite.ts';
import { OfflineEmbedder } from '../src/memory/embeddings.ts';
import { defaultVariants, evaluate, notesSet, type Scores } from '../test/helpers/retrieval-quality.ts';

const db = await PgliteDb.open('memory://');
await migrate(db);
const started = performance.now();
const rows = await evaluate(db, new OfflineEmbedder(), notesSet, defaultVariants, (done, total) =>
  process.stderr.write(`\r${notesSet.name}: ingested ${done}/${total} documents`),
);
await db.close();

const fmt = (s: Scores) =>
  `${s.hit5.toFixed(3)}  ${s.recall5.toFixed(3)}  ${s.mrr.toFixed(3)}  ${String(s.n).padStart(4)}`;
console.log(
  `\nNotes set (40 paraphrased questions)\n${'mode'.padEnd(10)} ${'category'.padEnd(12)} hit@5  rec@5  MRR       n`,
);
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
console.log(`${Math.round((performance.now() - started) / 1000)} s`);
console.log(
  JSON.stringify({
    bench: 'memory-quality',
    notes: rows.map((r) => ({ variant: r.variant, ran: r.ran, ...r.all })),
  }),
);
