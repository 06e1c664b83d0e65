import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { PostgresDb } from '../../src/db/postgres.ts';
import { OfflineEmbedder } from '../../src/memory/embeddings.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';
import { retrievalQuality } from '../helpers/retrieval-quality.ts';
import { freshDatabase, stores } from '../helpers/server.ts';
import { notes, questions } from './fixtures/notes-set.ts';

// Hybrid search must never lose to the better of its two lists. The set's questions mostly ask with
// synonyms and paraphrases, so here that list is the vector one (hit@5 0.975 against full-text's
// 0.650): a fusion that lost its vector half, or let full-text's weak matches push the nearest
// chunk down (weighted RRF at 1:0.3 scored 0.950), fails here. LoCoMo, where full-text is the better
// list, is measured by `npm run eval:memory`.
const embedder = new OfflineEmbedder();

for (const store of stores) {
  describe(`retrieval quality on the notes set on ${store}`, () => {
    it('fused hit@5, recall@5 and MRR are at least those of the better list with the offline embedder', async (t) => {
      let db: Db;
      let drop = async () => {};
      if (store === 'pglite') db = await openTestPglite();
      else {
        const fresh = await freshDatabase();
        drop = fresh.drop;
        db = await PostgresDb.open(fresh.url, { max: 2 });
      }
      try {
        await migrate(db);
        const rows = await retrievalQuality(db, embedder);
        const by = (mode: string) => rows.find((r) => r.mode === mode)!;
        const text = by('text');
        const vector = by('vector');
        const fused = by('hybrid');
        t.diagnostic(
          `${questions.length} questions, ${notes.length} notes; hit@5/MRR ` +
            `text ${text.hit5}/${text.mrr}, vector ${vector.hit5}/${vector.mrr}, hybrid ${fused.hit5}/${fused.mrr}`,
        );
        // Each mode must have found something, or the comparison says nothing about fusion.
        assert.ok(text.hit5 > 0, `full-text hit@5 is ${text.hit5}`);
        assert.ok(vector.hit5 > 0, `vector hit@5 is ${vector.hit5}`);
        for (const metric of ['hit5', 'recall5', 'mrr'] as const) {
          const best = Math.max(text[metric], vector[metric]);
          assert.ok(
            fused[metric] >= best,
            `fused ${metric} ${fused[metric]} is below the better list's ${best}`,
          );
        }
        assert.ok(
          fused.hit5 > text.hit5,
          `fused hit@5 ${fused.hit5} must be above full-text hit@5 ${text.hit5}`,
        );
      } finally {
        await db.close();
        await drop();
      }
    });
  });
}
