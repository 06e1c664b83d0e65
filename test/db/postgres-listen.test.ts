import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresDb } from '../../src/db/postgres.ts';
import { eventually } from '../helpers/eventually.ts';
import { freshDatabase } from '../helpers/server.ts';

describe('LISTEN on PostgreSQL across a dropped connection', { skip: !process.env.DATABASE_URL }, () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: PostgresDb;

  before(async () => {
    ({ url, drop } = await freshDatabase());
    db = await PostgresDb.open(url, { max: 2 });
  });

  after(async () => {
    await db.close();
    await drop();
  });

  it('re-subscribes, reports the gap, and delivers what is notified afterwards', async () => {
    const payloads: string[] = [];
    let gaps = 0;
    const unlisten = await db.listen(
      'test_gap',
      (p) => payloads.push(p),
      () => gaps++,
    );
    await db.notify('test_gap', 'before');
    await eventually(async () => (payloads.includes('before') ? true : undefined), 30_000, 'first note');
    assert.equal(gaps, 0, 'no gap while the connection stays up');

    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen %'`,
      );
      assert.equal(killed.rowCount, 1, 'exactly the LISTEN connection');
    } finally {
      await admin.end();
    }
    await eventually(async () => (gaps > 0 ? true : undefined), 30_000, 'the gap to be reported');
    assert.equal(gaps, 1);
    await db.notify('test_gap', 'after');
    await eventually(async () => (payloads.includes('after') ? true : undefined), 30_000, 'the note after');

    await unlisten();
    await db.notify('test_gap', 'unheard');
    // A note not delivered shows only as its absence: nothing to wait for but a short while.
    await db.query('select pg_sleep(0.1)');
    assert.deepEqual(payloads, ['before', 'after']);
  });
});
