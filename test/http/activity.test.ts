import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { minIdAt } from '../../src/runtime/runs/counts.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** GET /v1/activity: the console overview's counts of runs and tasks in a recent window. */
for (const store of stores) {
  describe(`GET /v1/activity on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
      const agent = await s.request('POST', '/v1/agents', {
        body: { name: 'counted', model: 'mock/counted' },
      });
      agentId = agent.body.id;
    });
    after(() => s.close());

    it('counts runs and tasks by status, with the error rate among ended ones', async () => {
      const empty = await s.request('GET', '/v1/activity');
      assert.equal(empty.status, 200, empty.text);
      assert.equal(empty.body.runs.total, 0);
      assert.equal(empty.body.runs.error_rate, null);
      assert.equal(empty.body.tasks.by_status.pending, 0);

      for (const message of ['one', 'two', 'three']) {
        const ok = await s.request('POST', `/v1/agents/${agentId}/chat`, {
          body: { message, stream: false },
        });
        assert.equal(ok.status, 200, ok.text);
      }
      s.app.services.models.mock.script('counted', [{ error: { status: 400, message: 'refused upstream' } }]);
      const failed = await s.request('POST', `/v1/agents/${agentId}/chat`, {
        body: { message: 'x', stream: false },
      });
      assert.ok(failed.status >= 400, failed.text);
      await s.request('POST', '/v1/tasks', { body: { agent_id: agentId, task_type: 'default', title: 't' } });

      const res = await s.request('GET', '/v1/activity?minutes=5');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.runs.by_status.completed, 3);
      assert.equal(res.body.runs.by_status.failed, 1);
      assert.equal(res.body.runs.total, 4);
      assert.equal(res.body.runs.error_rate, 0.25);
      assert.equal(res.body.tasks.by_status.pending, 1);
      assert.equal(res.body.tasks.total, 1);
      assert.ok(Date.parse(res.body.until) - Date.parse(res.body.since) === 5 * 60_000);

      const other = await s.request('POST', '/v1/tenants', { body: { name: 'elsewhere' } });
      const theirs = await s.request('GET', '/v1/activity', { key: other.body.admin_key.secret });
      assert.equal(theirs.body.runs.total, 0, "another tenant's runs are not counted");
      assert.equal(theirs.body.tasks.total, 0);
    });

    it('refuses a window out of range with 400', async () => {
      assert.equal((await s.request('GET', '/v1/activity?minutes=0')).status, 400);
      assert.equal((await s.request('GET', '/v1/activity?minutes=abc')).status, 400);
      assert.equal((await s.request('GET', '/v1/activity', { key: null })).status, 401);
    });

    it('bounds the id scan with the smallest UUIDv7 of the window start', () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      const id = minIdAt(at);
      assert.equal(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), at.getTime());
      assert.ok(id < minIdAt(new Date(at.getTime() + 1)));
    });
  });
}
