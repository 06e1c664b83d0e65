import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { isStoreUnavailable } from '../../src/db/unavailable.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

const failure = async (work: () => Promise<unknown>) => {
  try {
    await work();
  } catch (err) {
    return err;
  }
  assert.fail('expected a failure');
};

describe('isStoreUnavailable', () => {
  it('is true for a refused connection, a pool that was ended and a closed PGlite', async () => {
    const refused = new pg.Pool({ connectionString: `postgres://x@127.0.0.1:${await closedPort()}/x` });
    assert.ok(isStoreUnavailable(await failure(() => refused.query('select 1'))));
    await refused.end();
    assert.ok(isStoreUnavailable(await failure(() => refused.query('select 1'))), 'pool ended (shutdown)');

    const embedded = await openTestPglite();
    await embedded.close();
    assert.ok(isStoreUnavailable(await failure(() => embedded.query('select 1'))), 'PGlite closed');
  });

  it('is true for server shutdown codes and connection exceptions, also as a cause', () => {
    for (const code of ['57P01', '57P03', '08006', '08001', 'ECONNRESET']) {
      assert.ok(isStoreUnavailable(Object.assign(new Error('x'), { code })), code);
    }
    assert.ok(isStoreUnavailable(new Error('timeout exceeded when trying to connect')));
    assert.ok(
      isStoreUnavailable(new Error('wrapped', { cause: new Error('Connection terminated unexpectedly') })),
    );
  });

  it('is false for query mistakes', async () => {
    const embedded = await openTestPglite();
    try {
      assert.equal(isStoreUnavailable(await failure(() => embedded.query('select nope'))), false);
      assert.equal(isStoreUnavailable(Object.assign(new Error('dup'), { code: '23505' })), false);
      assert.equal(isStoreUnavailable(undefined), false);
    } finally {
      await embedded.close();
    }
  });
});
