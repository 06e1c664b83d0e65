import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deadline } from '../../src/resilience/deadline.ts';
import { collectGarbageEvery } from '../helpers/gc.ts';

const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)));

describe('Deadline', () => {
  it('aborts at its time under a parent though garbage is collected while it waits', async () => {
    // AbortSignal.any([parent, AbortSignal.timeout(50)]) never aborts here on Node 20.
    const stop = collectGarbageEvery(5);
    try {
      const parent = new AbortController();
      const deadline = new Deadline(50, parent.signal);
      const reason = await Promise.race([
        aborted(deadline.signal),
        new Promise((r) => setTimeout(() => r('not aborted after 20 s'), 20_000).unref()),
      ]);
      assert.equal((reason as DOMException).name, 'TimeoutError', String(reason));
      assert.equal(deadline.passed, true);
      assert.equal(parent.signal.aborted, false);
    } finally {
      stop();
    }
  });

  it('aborts with its parent, and then has not passed; cleared, it never aborts', async () => {
    const parent = new AbortController();
    const deadline = new Deadline(60_000, parent.signal);
    parent.abort(new Error('caller gone'));
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.passed, false);
    deadline.clear();

    const cleared = new Deadline(20);
    cleared.clear();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(cleared.signal.aborted, false);
  });
});
