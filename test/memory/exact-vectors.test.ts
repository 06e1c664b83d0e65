import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { Int8Matrix } from '../../src/memory/dot-kernel.ts';
import { ExactVectorStore } from '../../src/memory/vectors.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

// The exact fallback scans an int8 copy with a SIMD kernel and rescores by bounds: its answers must
// be those of a plain float scan, also where many similarities sit inside the quantisation error.
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff - 0.5;
};
const unit = (v: number[]) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};

/** Top `limit` by a float64 scan over the float32 values the store holds. */
function bruteForce(
  rows: { id: string; doc: string; v: number[] }[],
  q: number[],
  limit: number,
  docs?: Set<string>,
) {
  const f32 = (v: number[]) => Array.from(Float32Array.from(v));
  const qq = f32(q);
  return rows
    .filter((r) => !docs || docs.has(r.doc))
    .map((r) => ({ id: r.id, s: f32(r.v).reduce((a, x, j) => a + x * qq[j]!, 0) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, limit);
}

describe('exact vector fallback (int8 SIMD pass, exact rescoring)', () => {
  let db: Db;
  let tenantId: string;
  before(async () => {
    db = await openTestPglite();
    await migrate(db);
    tenantId = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, 'vec']);
  });
  after(() => db.close());

  async function kbWith(rows: { id: string; doc: string; v: number[] }[], docIds: string[]): Promise<string> {
    const kbId = newId();
    await db.query(`insert into knowledge_bases (id, tenant_id, name, kind) values ($1, $2, $3, 'domain')`, [
      kbId,
      tenantId,
      kbId,
    ]);
    for (const d of docIds)
      await db.query(
        `insert into documents (id, tenant_id, knowledge_base_id, source, format, content_hash, bytes)
         values ($1, $2, $3, $4, 'text', '', 0)`,
        [d, tenantId, kbId, d],
      );
    await db.query(
      `insert into chunks (id, tenant_id, knowledge_base_id, document_id, position, content, tsv, embedding, embedding_dims)
       select r.id, $1, $2, r.doc, 0, '', ''::tsvector, r.v::real[], $3
         from unnest($4::uuid[], $5::uuid[], $6::text[]) as r(id, doc, v)`,
      [
        tenantId,
        kbId,
        rows[0]!.v.length,
        rows.map((r) => r.id),
        rows.map((r) => r.doc),
        rows.map((r) => `{${r.v.join(',')}}`),
      ],
    );
    return kbId;
  }

  it('has the SIMD kernel on this runtime (otherwise the float scan answers alone)', () => {
    assert.ok(Int8Matrix.from(new Float32Array(16), 1, 16));
  });

  it('returns the same top k as a float scan, with and without a document filter', async () => {
    const dims = 100; // not a multiple of 16: rows are padded
    const docIds = [newId(), newId(), newId()];
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      id: newId(),
      doc: docIds[i % 3]!,
      v: unit(Array.from({ length: dims }, rand)),
    }));
    rows[5]!.v = new Array(dims).fill(0); // a zero vector has scale 0
    const kbId = await kbWith(rows, docIds);
    const store = new ExactVectorStore(db, 1_000_000);
    for (let n = 0; n < 10; n++) {
      const q = unit(Array.from({ length: dims }, rand));
      const docs = n % 2 ? new Set([docIds[1]!]) : undefined;
      const hits = await store.search({
        tenantId,
        kbId,
        revision: 0,
        vector: q,
        limit: 25,
        documentIds: docs,
      });
      const want = bruteForce(rows, q, 25, docs);
      assert.deepEqual(
        hits.map((h) => h.chunkId),
        want.map((w) => w.id),
      );
      for (const [i, h] of hits.entries()) assert.ok(Math.abs(h.similarity - want[i]!.s) < 1e-9);
    }
  });

  it('stays exact when most similarities differ by less than the quantisation error', async () => {
    const dims = 64;
    const doc = newId();
    const centre = unit(Array.from({ length: dims }, rand));
    // Close neighbours: the top similarities are closer to each other than the int8 error bound.
    const rows = Array.from({ length: 2000 }, () => ({
      id: newId(),
      doc,
      v: unit(centre.map((x) => x + rand() * 2e-2)),
    }));
    const kbId = await kbWith(rows, [doc]);
    const store = new ExactVectorStore(db, 1_000_000);
    const q = unit(centre.map((x) => x + rand() * 1e-2));
    const hits = await store.search({ tenantId, kbId, revision: 0, vector: q, limit: 10 });
    assert.deepEqual(
      hits.map((h) => h.chunkId),
      bruteForce(rows, q, 10).map((w) => w.id),
    );
  });

  it('answers with fewer rows than asked for, and with none', async () => {
    const doc = newId();
    const rows = Array.from({ length: 3 }, () => ({
      id: newId(),
      doc,
      v: unit(Array.from({ length: 16 }, rand)),
    }));
    const kbId = await kbWith(rows, [doc]);
    const store = new ExactVectorStore(db, 1_000_000);
    const q = unit(Array.from({ length: 16 }, rand));
    const hits = await store.search({ tenantId, kbId, revision: 0, vector: q, limit: 10 });
    assert.deepEqual(
      hits.map((h) => h.chunkId),
      bruteForce(rows, q, 10).map((w) => w.id),
    );
    const none = await store.search({
      tenantId,
      kbId,
      revision: 0,
      vector: q,
      limit: 10,
      documentIds: new Set(),
    });
    assert.deepEqual(none, []);
  });
});
