import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { claimTasks, MAX_ANNOUNCED } from '../../src/tasks/claim.ts';
import { completeTasks } from '../../src/tasks/complete.ts';
import { enqueueMany } from '../../src/tasks/enqueue.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { eventually } from './helpers.ts';

// Claims and completions announce their streams from inside their own statement, one NOTIFY per
// MAX_ANNOUNCED ids (a payload holds 8000 bytes): a batch larger than one payload is announced whole.
for (const store of stores) {
  describe(`stream announcements from claim and complete on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
    });
    after(() => s.close());

    it('announces every id of a 450-task claim and of its completion, at most 200 per payload', async () => {
      const { db } = s.app;
      const payloads: string[][] = [];
      const stop = await db.listen('test_announce', (p) => payloads.push(p.split(',')));
      const ids = Array.from({ length: 450 }, () => newId());
      await enqueueMany(
        db,
        s.app.defaultTenantId,
        ids.map((id) => ({
          id,
          agent_id: newId(),
          task_type: 'default',
          title: 't',
          payload: {},
          priority: 0,
        })),
      );
      const claimed = await claimTasks(db, {
        owner: 'w',
        limit: 500,
        leaseSeconds: 30,
        tenantMaxRunning: 0,
        announceOn: 'test_announce',
      });
      assert.equal(claimed.length, 450);
      const seen = () => payloads.flat();
      await eventually(async () => (seen().length >= ids.length ? true : undefined), 30_000, 'announcements');
      assert.deepEqual(new Set(seen()), new Set(ids));
      assert.ok(payloads.every((p) => p.length <= MAX_ANNOUNCED));
      assert.equal(seen().length, 450);

      payloads.length = 0;
      const done = await completeTasks(
        db,
        'w',
        claimed.map((t) => ({ ...t, result: null, summary: null, durationMs: 1 })),
        'test_announce',
      );
      assert.equal(done.length, 450);
      await eventually(async () => (seen().length >= ids.length ? true : undefined), 30_000, 'announcements');
      assert.deepEqual(new Set(seen()), new Set(ids));
      assert.ok(payloads.every((p) => p.length <= MAX_ANNOUNCED));
      assert.equal(seen().length, 450);
      await stop();
    });
  });
}
