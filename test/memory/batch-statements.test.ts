import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db, Queryable } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { Memory } from '../../src/memory/memory.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

/** Counts the statements sent through `db`, inside transactions too. */
function counting(db: Db): { count: () => number } {
  let n = 0;
  const wrap = (q: Queryable): Queryable =>
    new Proxy(q, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'query' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          n += 1;
          return value.apply(target, args);
        };
      },
    });
  const query = db.query.bind(db);
  const transaction = db.transaction.bind(db);
  db.query = ((...args: Parameters<Db['query']>) => {
    n += 1;
    return query(...args);
  }) as Db['query'];
  db.transaction = ((fn: (tx: Queryable) => Promise<unknown>) =>
    transaction((tx) => fn(wrap(tx)))) as Db['transaction'];
  return { count: () => n };
}

describe('batch ingest statements on pglite', () => {
  let db: Db;
  before(async () => {
    db = await openTestPglite();
    await migrate(db);
  });
  after(() => db.close());

  it('writes 600 documents with a few statements per group, not several per document', async () => {
    const tenantId = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, 'statements']);
    const memory = await Memory.open(db, {
      chunking: { maxChars: 1000, overlapChars: 0 },
      maxDocumentBytes: 1_000_000,
      vectorCacheChunks: 1000,
    });
    const who = { tenantId, actor: 'system' };
    const kb = await memory.knowledgeBases.create(
      tenantId,
      { name: 'turns', kind: 'domain', description: '', metadata: {} },
      who,
    );
    const docs = (text: string) =>
      Array.from({ length: 600 }, (_, i) => ({
        source: `turn-${i}`,
        bytes: Buffer.from(`turn ${i}: ${text}`),
        metadata: { i },
      }));
    const sql = counting(db);
    const ctx = { tenantId, tenantName: 'statements' };
    const created = await memory.ingestMany(tenantId, kb.id, docs('the ferry leaves at nine'), ctx, who);
    assert.equal(created.filter((r) => r.ok && r.result.status === 'created').length, 600);
    // 600 one-chunk documents are three groups (256, 256, 88 chunks): a look-up of the sources, then
    // per group one insert of documents, one of chunks, one revision bump and one journal insert.
    const first = sql.count();
    assert.ok(first <= 20, `${first} statements for 600 new documents`);
    // Replaced documents: an update each (it locks the row), the rest still per group.
    const replaced = await memory.ingestMany(tenantId, kb.id, docs('the ferry leaves at ten'), ctx, who);
    assert.equal(replaced.filter((r) => r.ok && r.result.status === 'updated').length, 600);
    const second = sql.count() - first;
    assert.ok(second <= 600 + 20, `${second} statements for 600 replaced documents`);
    const [row] = await db.query<{ n: number }>(
      'select count(*)::int as n from chunks where knowledge_base_id = $1 and content like $2',
      [kb.id, '%at ten'],
    );
    assert.equal(row!.n, 600);
    const [journal] = await db.query<{ n: number }>(
      `select count(*)::int as n from journal where tenant_id = $1 and action like 'document.%'`,
      [tenantId],
    );
    assert.equal(journal!.n, 1200, 'one journal row per document written');
  });
});
