import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openWhenStoreReachable } from '../../src/cli/wait-for-store.ts';
import { AppError } from '../../src/errors.ts';
import { createLogger } from '../../src/observability/logger.ts';

const log = createLogger('silent');

describe('waiting for the store at start', () => {
  it('throws any other error at once: a bad setting is not waited for', async () => {
    let calls = 0;
    const open = async () => {
      calls += 1;
      throw new AppError('config_error', 'store.pool_max must be positive');
    };
    await assert.rejects(openWhenStoreReachable(open, log, new AbortController().signal), /pool_max/);
    assert.equal(calls, 1);
  });

  it('retries an unreachable store and answers undefined once stopped', async () => {
    const stop = new AbortController();
    let calls = 0;
    const open = async (): Promise<string> => {
      calls += 1;
      if (calls === 2) stop.abort();
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    };
    // random() = 0: the first wait is 0.9 s, then the abort ends the second one at once.
    assert.equal(await openWhenStoreReachable(open, log, stop.signal, () => 0), undefined);
    assert.equal(calls, 2);
  });
});
