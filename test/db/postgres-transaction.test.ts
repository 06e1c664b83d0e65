import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { PostgresDb } from '../../src/db/postgres.ts';
import { eventually } from '../helpers/eventually.ts';
import { freshDatabase } from '../helpers/server.ts';

describe('a PostgreSQL transaction whose connection is lost', { skip: !process.env.DATABASE_URL }, () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: PostgresDb;
  const warnings: string[] = [];

  before(async () => {
    ({ url, drop } = await freshDatabase());
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    db = await PostgresDb.open(url, { max: 1, log });
  });

  after(async () => {
    await db.close();
    await drop();
  });

  it('fails the transaction, not the process, and the pool lends a working connection next', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const attempt = db.transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
        // Between two statements, as when the server stops mid-transaction: the client is idle, so
        // the loss arrives as an 'error' event, which had no listener on a checked-out client.
        await admin.query('select pg_terminate_backend($1)', [row!.pid]);
        await eventually(
          async () =>
            warnings.some((w) => w.includes('connection lost during a transaction')) ? true : undefined,
          30_000,
          'the lost connection to reach the client',
        );
        await tx.query('select 1');
      });
      await assert.rejects(attempt);
    } finally {
      await admin.end();
    }
    // Pool of one: the broken connection was dropped, not lent again.
    assert.deepEqual(await db.query('select 1 as one'), [{ one: 1 }]);
  });
});
