import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import type { Embedder } from '../../src/memory/embeddings.ts';
import { pgliteKb } from './fixtures.ts';

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
    const kb = await pgliteKb('storage', new SpreadEmbedder(), 1200);
    db = kb.db;
    const text = Array.from({ length: 4 }, (_, n) => section(n)).join('\n\n');
    await kb.memory.ingest(
      kb.tenantId,
      kb.kbId,
      { source: 'big.md', bytes: Buffer.from(text), metadata: {} },
      { tenantId: kb.tenantId, tenantName: 'storage' },
      { tenantId: kb.tenantId, actor: 'system' },
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
