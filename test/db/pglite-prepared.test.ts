import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PgliteDb } from '../../src/db/pglite.ts';

describe('named statements on the embedded store', () => {
  let db: PgliteDb;
  before(async () => {
    db = await PgliteDb.open('memory://');
    await db.exec(
      `create table t (id uuid primary key, n int8, tags text[], data jsonb, at timestamptz, note text)`,
    );
  });
  after(() => db.close());

  const insert = `insert into t (id, n, tags, data, at, note) values ($1, $2, $3, $4::jsonb, $5, $6)
                  returning id, n, tags, data, at, note, array[n, n + 1] as ns`;
  const row = (i: number) => [
    `01a21aee-a8cf-72e1-be5e-4cfd81ef9f${String(i).padStart(2, '0')}`,
    i,
    ['a', 'b,c', 'd"e'],
    JSON.stringify({ i, text: 'é ✓' }),
    new Date(Date.UTC(2026, 10, 27, 3, i)),
    i % 2 ? null : 'même',
  ];

  it('answers exactly as the unnamed statement does: types parsed, parameters serialized, nulls', async () => {
    await db.query(insert, row(1));
    const named = await db.query<Record<string, unknown>>(insert, row(2), { name: 'test_insert' });
    const again = await db.query<Record<string, unknown>>(insert, row(3), { name: 'test_insert' });
    const read = (n: number) =>
      db.query('select id, n, tags, data, at, note, array[n, n + 1] as ns from t where n = $1', [n]);
    assert.deepEqual(named, await read(2));
    assert.deepEqual(again, await read(3));
    assert.deepEqual(again[0]!.tags, ['a', 'b,c', 'd"e']);
    assert.deepEqual(again[0]!.data, { i: 3, text: 'é ✓' });
    assert.deepEqual(again[0]!.at, new Date(Date.UTC(2026, 10, 27, 3, 3)));
    assert.equal(again[0]!.note, null);
    assert.equal(named[0]!.note, 'même');
  });

  it('raises the database error of a failing call and carries on after it', async () => {
    await assert.rejects(db.query(insert, row(2), { name: 'test_insert' }), { code: '23505' });
    const [r] = await db.query<{ n: unknown }>(insert, row(4), { name: 'test_insert' });
    assert.equal(String(r!.n), '4');
  });

  it('takes its turn after a transaction in progress, never inside it', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const tx = db.transaction(async (q) => {
      await q.query(`insert into t (id, n) values ('01a21aee-a8cf-72e1-be5e-4cfd81ef9f50', 50)`);
      await held;
      throw new Error('rolled back');
    });
    const named = db.query<{ c: unknown }>('select count(*)::int as c from t where n = $1', [50], {
      name: 'test_count',
    });
    await new Promise((r) => setTimeout(r, 50));
    release();
    await assert.rejects(tx, /rolled back/);
    assert.deepEqual(await named, [{ c: 0 }]);
  });

  it('runs inside a transaction, rolled back with it', async () => {
    const count = 'select count(*)::int as c from t where n = $1';
    await assert.rejects(
      db.transaction(async (q) => {
        await q.query(insert, row(60), { name: 'test_insert' });
        assert.deepEqual(await q.query(count, [60], { name: 'test_count' }), [{ c: 1 }]);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.deepEqual(await db.query(count, [60], { name: 'test_count' }), [{ c: 0 }]);
    await db.transaction((q) => q.query(insert, row(61), { name: 'test_insert' }));
    assert.deepEqual(await db.query(count, [61], { name: 'test_count' }), [{ c: 1 }]);
  });

  it('runs a name given another text as an unnamed statement', async () => {
    assert.deepEqual(await db.query('select 1 as x', [], { name: 'test_count' }), [{ x: 1 }]);
  });
});
