/**
 * Retrieval quality on the set in bench/memory-dataset.ts: every note ingested into one knowledge
 * base through the real Memory module, every question searched in each mode, and hit@k counted as
 * "the note that answers it is among the first k results". Shared by bench/memory.ts (which prints
 * the figures) and test/memory/quality.test.ts (which requires the fusion to beat full-text).
 */
import type { Db } from '../src/db/db.ts';
import { newId } from '../src/db/ids.ts';
import type { Embedder } from '../src/memory/embeddings.ts';
import { Memory } from '../src/memory/memory.ts';
import { notes, questions } from './memory-dataset.ts';

export interface Quality {
  mode: 'text' | 'vector' | 'hybrid';
  hit1: number;
  hit5: number;
  hit10: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Runs the set on `db` (already migrated) with `embedder`, in a tenant of its own. */
export async function retrievalQuality(db: Db, embedder: Embedder): Promise<Quality[]> {
  const tenantId = newId();
  await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, `eval-${tenantId.slice(-6)}`]);
  const who = { tenantId, actor: 'system' };
  const memory = await Memory.open(db, {
    chunking: { maxChars: 1200, overlapChars: 200 },
    maxDocumentBytes: 1024 * 1024,
    vectorCacheChunks: 100_000,
    embedder,
  });
  const kb = await memory.knowledgeBases.create(
    tenantId,
    { name: 'eval', kind: 'domain', description: '', metadata: {} },
    who,
  );
  const ctx = { tenantId, tenantName: 'eval' };
  for (const n of notes)
    await memory.ingest(
      tenantId,
      kb.id,
      { source: n.source, bytes: Buffer.from(n.text), metadata: {} },
      ctx,
      who,
    );
  const rows: Quality[] = [];
  for (const mode of ['text', 'vector', 'hybrid'] as const) {
    const hits = { 1: 0, 5: 0, 10: 0 };
    for (const q of questions) {
      const res = await memory.search(tenantId, kb.id, { query: q.query, top_k: 10, mode, filters: {} }, ctx);
      const at = res.data.findIndex((h) => h.document.source === q.source);
      for (const k of [1, 5, 10] as const) if (at >= 0 && at < k) hits[k] += 1;
    }
    const n = questions.length;
    rows.push({ mode, hit1: round3(hits[1] / n), hit5: round3(hits[5] / n), hit10: round3(hits[10] / n) });
  }
  return rows;
}
