import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PgliteDb } from '../../src/db/pglite.ts';
import { PgliteThreadDb } from '../../src/db/pglite-threaded.ts';
import { isStoreOutage } from '../../src/db/unavailable.ts';
import { snapshotEnv } from '../helpers/pglite-snapshot.ts';

// The embedded store in its own thread answers as the in-process one does: the same rows, errors,
// transactions and notifications, with every call a message to the thread.
describe('the embedded store in its own thread', () => {
  let db: PgliteThreadDb;
  before(async () => {
    db = await PgliteThreadDb.open('memory://');
    await db.exec('create table t (id int primary key, data jsonb, at timestamptz, raw bytea, note text)');
  });
  after(() => db.close());

  it('answers rows as the in-process store does, named statements too', async () => {
    const local = await PgliteDb.open('memory://');
    try {
      const sql = `select $1::int + 1 as n, $2::jsonb as data, $3::timestamptz as at, $4::bytea as raw,
                          $5::text[] as tags, null::text as nothing`;
      const params = [
        41,
        JSON.stringify({ a: 'é ✓' }),
        new Date(Date.UTC(2026, 10, 28)),
        Buffer.from('hi'),
        ['a', 'b,c'],
      ];
      const want = await local.query(sql, params);
      assert.deepEqual(await db.query(sql, params), want);
      assert.deepEqual(await db.query(sql, params, { name: 'thread_probe' }), want);
      assert.deepEqual(await db.query(sql, params, { name: 'thread_probe' }), want);
      // What PostgreSQL cannot store is made storable on the way (storable.ts), here as there.
      assert.deepEqual(await db.query('select $1::text as s', ['a\0b']), [{ s: 'a\uFFFDb' }]);
    } finally {
      await local.close();
    }
  });

  it("raises the database's error with its SQLSTATE and fields, and carries on", async () => {
    await db.query('insert into t (id) values (1)');
    await assert.rejects(
      db.query('insert into t (id) values (1)'),
      (err: Error & Record<string, unknown>) => {
        assert.equal(err.code, '23505');
        assert.equal(err.constraint, 't_pkey');
        assert.match(err.message, /duplicate key/);
        assert.equal(isStoreOutage(err), false);
        return true;
      },
    );
    assert.deepEqual(await db.query('select count(*)::int as c from t'), [{ c: 1 }]);
  });

  it('commits a transaction, rolls back on what the callback throws, and keeps the callback its error', async () => {
    await db.transaction(async (tx) => {
      await tx.query('insert into t (id) values (2)');
      await tx.exec('insert into t (id) values (3)');
    });
    const mine = new Error('mine');
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('insert into t (id) values (4)');
        throw mine;
      }),
      (err) => err === mine,
    );
    await assert.rejects(
      db.transaction((tx) => tx.query('insert into t (id) values (2)')),
      { code: '23505' },
    );
    const rows = await db.query<{ id: number }>('select id from t order by id');
    assert.deepEqual(
      rows.map((r) => r.id),
      [1, 2, 3],
    );
  });

  it('runs other statements after a transaction in progress, never inside it', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const tx = db.transaction(async (q) => {
      await q.query('insert into t (id) values (50)');
      await held;
      throw new Error('rolled back');
    });
    const outside = db.query<{ c: number }>('select count(*)::int as c from t where id = 50');
    await new Promise((r) => setTimeout(r, 50));
    release();
    await assert.rejects(tx, /rolled back/);
    assert.deepEqual(await outside, [{ c: 0 }]);
  });

  it('delivers notifications to listeners until they stop', async () => {
    const got: string[] = [];
    const stop = await db.listen('thread_test', (p) => got.push(p));
    await db.notify('thread_test', 'one');
    await db.transaction((tx) => tx.query("select pg_notify('thread_test', 'two')"));
    await db.ping();
    assert.deepEqual(got, ['one', 'two']);
    await stop();
    await db.notify('thread_test', 'three');
    await db.ping();
    assert.deepEqual(got, ['one', 'two']);
  });

  it('fails every call as a closed store once closed', async () => {
    const other = await PgliteThreadDb.open('memory://');
    await other.close();
    await assert.rejects(other.query('select 1'), (err) => isStoreOutage(err));
  });

  it('fails a call in flight as a store outage when the thread dies under it', async () => {
    const other = await PgliteThreadDb.open('memory://');
    // A statement that cannot be answered before the thread is stopped, however fast the machine.
    const inFlight = other.query('select pg_sleep(60)');
    await (other as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await assert.rejects(inFlight, (err) => isStoreOutage(err));
    await other.close();
  });
});

describe('a data directory opened by the thread', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentry-pglite-thread-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("starts a new store from the seed, keeps the process's lock, and opens it again as it is", async () => {
    const dataDir = path.join(dir, 'data');
    const seed = process.env[snapshotEnv];
    const db = await PgliteThreadDb.open(dataDir, { seedFile: seed ?? 'none' });
    try {
      assert.ok(existsSync(path.join(dataDir, 'PG_VERSION')));
      if (seed) {
        const rows = await db.query<{ n: number }>('select count(*)::int as n from agentry_migrations');
        assert.ok((rows[0]?.n ?? 0) > 0, 'the seed brought its migrations');
      }
      await db.exec('create table kept (x int)');
      await db.query('insert into kept values (7)');
      // The lock is the process's: a second open of the directory is refused while the first holds it.
      await assert.rejects(PgliteThreadDb.open(dataDir), { code: 'conflict' });
      await assert.rejects(PgliteDb.open(dataDir), { code: 'conflict' });
    } finally {
      await db.close();
    }
    const again = await PgliteThreadDb.open(dataDir);
    try {
      assert.deepEqual(await again.query('select x from kept'), [{ x: 7 }]);
    } finally {
      await again.close();
    }
  });
});
