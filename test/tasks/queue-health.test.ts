import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueueRunner } from '../../src/tasks/runner.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually } from './helpers.ts';

/**
 * /health's queue component is honest about workers: tasks that could run with no live worker
 * process anywhere (no heartbeat row in queue_workers) make it `down` and the whole `degraded`
 * (amber); a worker's heartbeat makes it `ok` again, and a graceful stop removes the row at once.
 */
for (const store of stores) {
  describe(`queue health on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      // An API process: it claims nothing, so tasks wait until a worker shows up.
      s = await startServer(store, { fleet: { role: 'api' }, tasks: { poll_seconds: 0.2 } });
    });
    after(() => s.close());

    const queue = async () => {
      const h = await s.request('GET', '/health');
      return { http: h.status, overall: h.body.overall, ...h.body.components.queue };
    };

    it('is ok with no tasks and no workers, down (amber overall) once a task waits for no worker', async () => {
      const idle = await queue();
      assert.equal(idle.status, 'ok', JSON.stringify(idle));
      assert.equal(idle.detail.live_workers, 0);

      const agent = await createAgent(s, 'waiter');
      const task = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'summarize', title: 'wait', payload: { text: 'x' } },
      });
      assert.equal(task.status, 202, task.text);
      const stranded = await queue();
      assert.equal(stranded.status, 'down', JSON.stringify(stranded));
      assert.equal(stranded.overall, 'amber', 'the queue is not essential: amber, not red');
      assert.equal(stranded.http, 200);
      assert.equal(stranded.detail.runnable, 1);
      assert.match(stranded.detail.reason, /no worker process is alive/);
    });

    it('does not count a worker whose heartbeat is older than the lease', async () => {
      const db = s.app.db;
      await db.query(
        `insert into queue_workers (id, hostname, pid, role, slots, last_seen)
         values ('gone:1:x', 'gone', 1, 'worker', 4, now() - interval '10 minutes')`,
      );
      const q = await queue();
      assert.equal(q.status, 'down');
      assert.equal(q.detail.live_workers, 0);
    });

    it('is ok while a worker heartbeats, and down again as soon as it stops', async () => {
      const sv = s.app.services;
      // A real worker on the same store, as `agentry worker` runs it in another process.
      const runner = new QueueRunner({
        db: s.app.db,
        bus: sv.bus,
        log: sv.log,
        handlers: sv.taskHandlers,
        tasks: { ...sv.config.tasks, workers: 1 },
        policies: sv.policies,
        secrets: sv.callbackSecrets,
        role: 'worker',
      });
      await runner.start();
      try {
        const alive = await queue();
        assert.equal(alive.status, 'ok', JSON.stringify(alive));
        assert.equal(alive.detail.live_workers, 1);
        assert.equal(alive.detail.worker_slots, 1);
        const [row] = await s.app.db.query<{ role: string; pid: number }>(
          "select role, pid from queue_workers where last_seen > now() - interval '1 minute'",
        );
        assert.deepEqual(row, { role: 'worker', pid: process.pid });
        // The waiting task is taken by the worker.
        await eventually(
          async () => ((await queue()).detail.runnable === 0 ? true : undefined),
          30_000,
          'claim',
        );
      } finally {
        await runner.stop(1000);
      }
      const rows = await s.app.db.query(`select 1 from queue_workers where role = 'worker' and pid = $1`, [
        process.pid,
      ]);
      assert.equal(rows.length, 0, 'a graceful stop removes the heartbeat row');
      const agent = await createAgent(s, 'waiter-2');
      await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'summarize', title: 'again', payload: { text: 'x' } },
      });
      assert.equal((await queue()).status, 'down');
    });
  });
}
