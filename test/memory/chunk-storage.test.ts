import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { PgliteDb } from '../../src/db/pglite.ts';
import type { Embedder } from '../../src/memory/embeddings.ts';
import { Memory } from '../../src/memory/memory.ts';

// Full-text ranking reads each candidate's tsvector: it must be in the chunk's row, not in TOAST,
// for a chunk of the usual size with a vector of a usual size beside it (migration 0013).
const DIMS = 512;

class SpreadEmbedder implements Embedder {
  readonly id = 'test:spread';
  async embed(texts: readonly string[]): Promise<number[][]> {
    return texts.map((t, k) => Array.from({ length: DIMS }, (_, i) => Math.sin(i * 0.37 + t.length + k)));
  }
}

/** ~1,100 characters of distinct words: a tsvector of about 1.5 KB. */
const section = (n: number) =>
  `## Part ${n}\n\n${Array.from({ length: 150 }, (_, i) => `w${n}x${i.toString(36)}q`).join(' ')}.`;

describe('chunk storage on pglite', () => {
  let db: Db;

  before(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    const tenantId = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, 'storage']);
    const memory = await Memory.open(db, {
      chunking: { maxChars: 1200, overlapChars: 0 },
      maxDocumentBytes: 1024 * 1024,
      vectorCacheChunks: 1000,
      embedder: new SpreadEmbedder(),
    });
    const kb = await memory.knowledgeBases.create(
      tenantId,
      { name: 'storage', kind: 'domain', description: '', metadata: {} },
      { tenantId, actor: 'system' },
    );
    const text = Array.from({ length: 4 }, (_, n) => section(n)).join('\n\n');
    await memory.ingest(
      tenantId,
      kb.id,
      { source: 'big.md', bytes: Buffer.from(text), metadata: {} },
      { tenantId, tenantName: 'storage' },
      { tenantId, actor: 'system' },
    );
  });
  after(() => db.close());

  it('keeps the tsvector in the row and moves the vector out of it', async () => {
    const rows = await db.query<{ tsv_bytes: number; tsv_out: boolean; vec_out: boolean }>(
      `select pg_column_size(tsv) as tsv_bytes,
              pg_column_toast_chunk_id(tsv) is not null as tsv_out,
              pg_column_toast_chunk_id(embedding_vec) is not null as vec_out
         from chunks`,
    );
    assert.equal(rows.length, 4);
    for (const r of rows) {
      assert.ok(r.tsv_bytes > 1000, `tsvector of ${r.tsv_bytes} bytes`);
      assert.equal(r.tsv_out, false);
      assert.equal(r.vec_out, true);
    }
  });
});
