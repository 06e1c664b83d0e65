import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { AllottedCounters } from '../../src/models/allotments.ts';
import { DbCounterStore } from '../../src/models/counters.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

describe('allotted counters across flushes', () => {
  let db: Db;
  let store: DbCounterStore;
  before(async () => {
    db = await openTestPglite();
    await migrate(db);
    store = new DbCounterStore(db);
  });
  after(() => db.close());

  const spec = (key: string) => ({ key, limit: 1000, expiresAt: Date.now() + 3_600_000 });

  it('a periodic flush lets a busy allotment keep one slice of headroom; an idle one gives back all', async () => {
    const counters = new AllottedCounters(store, 0.1);
    const s = spec('warm');
    assert.equal(await counters.reserve(s, 5), true);
    counters.settle(s, 5, 3);
    // The first reservation took a slice of 100 from the store.
    assert.equal(await store.get('warm'), 100);

    await counters.flush(Date.now(), { keepWarm: true });
    // 3 used, 97 unused: all of it is kept (it is below one slice), nothing given back.
    assert.equal(await store.get('warm'), 100);
    assert.equal(await counters.reserve(s, 5), true, 'served from the kept headroom');
    counters.settle(s, 5, 5);
    assert.equal(await store.get('warm'), 100, 'no new take was needed');

    await counters.flush(Date.now(), { keepWarm: true }); // used since the last flush: kept again
    assert.equal(await store.get('warm'), 100);
    await counters.flush(Date.now(), { keepWarm: true }); // idle for a whole interval: given back
    assert.equal(await store.get('warm'), 8);
  });

  it('an explicit flush gives back everything, so the store holds exactly what was used', async () => {
    const counters = new AllottedCounters(store, 0.1);
    const s = spec('explicit');
    assert.equal(await counters.reserve(s, 40), true);
    counters.settle(s, 40, 25);
    await counters.flush(Date.now(), { keepWarm: true });
    assert.equal(await store.get('explicit'), 100);
    await counters.flush();
    assert.equal(await store.get('explicit'), 25);
  });

  it('headroom kept by one process counts as spent for another: never past the limit', async () => {
    const a = new AllottedCounters(store, 0.1);
    const b = new AllottedCounters(store, 0.1);
    const s = { ...spec('shared'), limit: 150 };
    assert.equal(await a.reserve(s, 10), true); // a takes a slice of 15
    a.settle(s, 10, 10);
    await a.flush(Date.now(), { keepWarm: true }); // and keeps its 5 of headroom
    assert.equal(await store.get('shared'), 15);
    let served = 0;
    while (await b.reserve(s, 10)) {
      b.settle(s, 10, 10);
      served += 1;
    }
    assert.equal(served, 13, 'b gets what a neither used nor holds');
    assert.ok((await store.get('shared')) <= 150);
    assert.equal(await a.reserve(s, 5), true, 'a still has its kept headroom');
    assert.equal(await a.reserve(s, 1), false);
  });

  it('a burst of calls on an empty allotment takes one slice from the store, not one each', async () => {
    let takes = 0;
    const counting = Object.assign(Object.create(store), {
      take: (...args: Parameters<DbCounterStore['take']>) => {
        takes += 1;
        return store.take(...args);
      },
    }) as DbCounterStore;
    const counters = new AllottedCounters(counting, 0.1);
    const s = { ...spec('burst'), limit: 10_000 };
    const granted = await Promise.all(Array.from({ length: 50 }, () => counters.reserve(s, 10)));
    assert.ok(granted.every(Boolean));
    assert.equal(takes, 1, 'the 49 calls behind the first wait for its slice of 1,000');
    assert.equal(await store.get('burst'), 1000);
  });
});
