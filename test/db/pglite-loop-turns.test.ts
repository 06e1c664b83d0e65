/**
 * The embedded store gives the event loop a turn while a backlog of statements runs
 * (src/db/loop-turns.ts): PGlite answers in microtasks, and statements queued together used to run
 * back to back with no socket read, timer or health check served until the last one was done.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PgliteDb } from '../../src/db/pglite.ts';

describe('the embedded store under a backlog of statements', () => {
  let db: PgliteDb;
  before(async () => {
    db = await PgliteDb.open('memory://');
  });
  after(() => db.close());

  it('lets the event loop turn before the backlog is done', async () => {
    const statements = 200;
    let done = 0;
    // Each holds the loop a millisecond at least: the backlog holds it ten times the longest allowed.
    const backlog = Array.from({ length: statements }, () =>
      db.query('select pg_sleep(0.001)').then(() => {
        done++;
      }),
    );
    const doneAtFirstTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(done)));
    await Promise.all(backlog);
    assert.ok(
      doneAtFirstTurn < statements / 2,
      `the loop turned after ${doneAtFirstTurn} of ${statements} statements`,
    );
  });

  it('answers a statement inside a transaction while held, in order', async () => {
    const got = await db.transaction(async (tx) => {
      const rows = [];
      for (let i = 0; i < 50; i++)
        rows.push(...(await tx.query<{ n: number }>('select $1::int as n, pg_sleep(0.001)', [i])));
      return rows.map((r) => r.n);
    });
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});
