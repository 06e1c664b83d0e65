import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Waker } from '../../src/tasks/wake.ts';

describe('the worker waker', () => {
  it('sets no timer for a run_at further off than a timer can wait (Node would fire it at once)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const waker = new Waker(() => false);
      waker.wakeAt(Date.now() + 30 * 86_400_000);
      // An overflowing timer fires after 1 ms; give it many times that.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(waker.wakes, 0, 'no wake-up for a task due in 30 days');
      assert.deepEqual(warnings, []);
      waker.clear();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('wakes at a run_at a timer can reach', async () => {
    const waker = new Waker(() => false);
    waker.wakeAt(Date.now() + 30);
    await waker.sleep(60_000, 0);
    assert.equal(waker.wakes, 1);
    waker.clear();
  });
});
