import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { enqueueTask, listenLocally, parseWake, TASKS_CHANNEL } from '../../src/tasks/enqueue.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { eventually } from './helpers.ts';

// An enqueue through the store wakes this process's workers directly, and its NOTIFY carries the
// store's token so they can skip the echo; other processes still get a plain wake-up.
for (const store of stores) {
  describe(`local wake-ups on enqueue on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
    });
    after(() => s.close());

    const task = () => ({
      id: newId(),
      tenant_id: s.app.defaultTenantId,
      agent_id: newId(),
      task_type: 'default',
      title: 't',
      description: '',
      payload: {},
      priority: 0,
      max_attempts: 3,
    });

    it('wakes local workers before the enqueue returns and tags the NOTIFY with the token', async () => {
      const { db } = s.app;
      const notes: string[] = [];
      const unlisten = await db.listen(TASKS_CHANNEL, (p) => notes.push(p));
      const woken: number[] = [];
      const local = listenLocally(db, (at) => woken.push(at));
      const row = await enqueueTask(db, task());
      assert.deepEqual(woken, [row!.run_at.getTime()]);
      await eventually(async () => (notes.length > 0 ? true : undefined), 30_000, 'notify');
      assert.deepEqual(parseWake(notes[0]!), { at: row!.run_at.getTime(), token: local.token });

      // Once no local worker listens, the NOTIFY is a plain one that every worker acts on.
      local.stop();
      notes.length = 0;
      const again = await enqueueTask(db, task());
      await eventually(async () => (notes.length > 0 ? true : undefined), 30_000, 'notify');
      assert.deepEqual(parseWake(notes[0]!), { at: again!.run_at.getTime(), token: undefined });
      assert.equal(woken.length, 1);
      await unlisten();
    });
  });
}
