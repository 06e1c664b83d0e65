import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import type { Embedder } from '../../src/memory/embeddings.ts';
import type { Memory } from '../../src/memory/memory.ts';
import { pgliteKb } from './fixtures.ts';

// On PGlite the HNSW index is built from all rows rather than kept up row by row during bulk loads:
// ingest leaves it out once a load outgrows it, and the next vector search builds it again. Search
// must answer the same either way. Likewise the full-text index's pending list, which PGlite has no
// autovacuum to merge, is merged by the first search after writes.
const DIMS = 8;

/** Deterministic vectors from the words: each word adds to one dimension. */
class WordEmbedder implements Embedder {
  readonly id = 'test:words';
  async embed(texts: readonly string[]): Promise<number[][]> {
    return texts.map((t) => {
      const v = new Array<number>(DIMS).fill(0.01);
      for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) v[w.charCodeAt(0) % DIMS]! += 1;
      return v;
    });
  }
}

describe('deferred HNSW index on pglite', () => {
  let db: Db;
  let memory: Memory;
  let tenantId: string;
  let kbId: string;
  const who = () => ({ tenantId, actor: 'system' });
  const ctx = () => ({ tenantId, tenantName: 'deferred' });
  const hasIndex = async () => {
    const [r] = await db.query<{ ok: boolean }>(
      `select to_regclass('chunks_hnsw_${DIMS}') is not null as ok`,
    );
    return r!.ok;
  };
  const ingest = (source: string, text: string) =>
    memory.ingest(tenantId, kbId, { source, bytes: Buffer.from(text), metadata: {} }, ctx(), who());
  const search = async (query: string) =>
    (await memory.search(tenantId, kbId, { query, top_k: 5, mode: 'vector', filters: {} }, ctx())).data;
  /** `n` one-paragraph sections: with 60-character chunks, one chunk each. */
  const sections = (n: number, word: string) =>
    Array.from({ length: n }, (_, i) => `## ${word} ${i}\n\n${word} text ${i}.`).join('\n\n');

  before(async () => {
    ({ db, memory, tenantId, kbId } = await pgliteKb('deferred', new WordEmbedder(), 60));
  });
  after(() => db.close());

  it('writes without the index and builds it on the first vector search', async () => {
    await ingest('small.md', sections(5, 'apple'));
    assert.equal(await hasIndex(), false);
    const hits = await search('apple');
    assert.equal(await hasIndex(), true);
    assert.equal(hits.length, 5);
    assert.ok(hits.every((h) => h.document.source === 'small.md'));
  });

  it('keeps a small addition in the index row by row', async () => {
    await ingest('more.md', sections(5, 'banana'));
    assert.equal(await hasIndex(), true);
    const hits = await search('banana');
    assert.ok(hits.some((h) => h.document.source === 'more.md'));
  });

  it('drops the index for a load larger than it, and search builds it again over every row', async () => {
    const res = await ingest('bulk.md', sections(2100, 'cherry'));
    assert.ok(res.document.chunk_count > 2000, String(res.document.chunk_count));
    assert.equal(await hasIndex(), false);
    const hits = await search('cherry');
    assert.equal(await hasIndex(), true);
    assert.ok(hits.every((h) => h.document.source === 'bulk.md'));
    // The rows written while the index was absent are in it, and the earlier ones still are.
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `explain select id from chunks where embedding_dims = ${DIMS}
        order by embedding_vec::vector(${DIMS}) <=> '[1,0,0,0,0,0,0,0]'::vector(${DIMS}) limit 5`,
    );
    assert.match(plan.map((r) => r['QUERY PLAN']).join('\n'), new RegExp(`chunks_hnsw_${DIMS}`));
    assert.ok((await search('apple')).some((h) => h.document.source === 'small.md'));
  });

  it('merges the full-text pending list before the first text search after writes', async () => {
    // Pages the merge removed: more than none means the list held entries.
    const merge = async () =>
      (await db.query<{ n: number }>(`select gin_clean_pending_list('chunks_tsv'::regclass) as n`))[0]!.n;
    await ingest('pending-a.md', sections(20, 'damson'));
    assert.ok((await merge()) > 0);
    await ingest('pending-b.md', sections(20, 'elder'));
    const res = await memory.search(
      tenantId,
      kbId,
      { query: 'elder', top_k: 5, mode: 'text', filters: {} },
      ctx(),
    );
    assert.ok(res.data.every((h) => h.document.source === 'pending-b.md'));
    assert.equal(await merge(), 0);
  });
});
