import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queryable } from '../../src/db/db.ts';
import type { PgliteDb } from '../../src/db/pglite.ts';
import { LocalBus } from '../../src/events/bus.ts';
import { followEvents } from '../../src/events/log.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

const stream = '00000000-0000-7000-8000-0000000000f1';

describe('followEvents', () => {
  let db: PgliteDb;
  before(async () => {
    db = await openTestPglite();
  });
  after(() => db.close());

  it('ends as soon as its signal stops during a read of the log, not after the next poll', async () => {
    const stop = new AbortController();
    // The store as it is, but the follower's read is where the stop happens.
    const stoppingDb: Queryable = {
      query: ((sql, params, options) => {
        stop.abort();
        return db.query(sql, params, options);
      }) as Queryable['query'],
      exec: (sql) => db.exec(sql),
    };
    const follower = followEvents(stoppingDb, new LocalBus(), stream, {
      afterSeq: 0,
      signal: stop.signal,
      pollMs: 60_000,
    });
    const drained = (async () => {
      for await (const _ of follower) {
        // No events: the stream is empty.
      }
      return 'ended';
    })();
    const outcome = await Promise.race([
      drained,
      // Far less than pollMs, far more than a loaded machine takes to see the signal.
      new Promise((r) => setTimeout(() => r('still following after 20 s'), 20_000).unref()),
    ]);
    assert.equal(outcome, 'ended');
  });
});
