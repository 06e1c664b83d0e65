/**
 * SomaAgent01's delegation gateway (somaagent01.md): a task delegated with a Bearer key, polled
 * until it ends, and a downstream worker's callback completing another one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`SomaAgent01 contract on ${store}`, () => {
    let s: TestServer;
    let tenantName: string;
    const call = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(`${s.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
      const json: any = await res.json();
      return { status: res.status, body: json };
    };
    before(async () => {
      // No worker runs here: the delegated tasks wait for the downstream worker's callback.
      s = await startServer(store, { compat: { soma: true }, tasks: { workers: 0 } });
      tenantName = (await s.app.services.tenants.find(s.app.defaultTenantId))!.name;
    });
    after(async () => {
      await s.close();
    });

    it('queues a delegated task; a downstream worker completes it through /callback; the poll shows it', async () => {
      const res = await call(
        'POST',
        '/v1/delegation/task',
        { task_id: 'soma-1', payload: { goal: 'summarise the incident' } },
        { 'X-Tenant-Id': tenantName },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.task_id, 'soma-1');
      assert.equal(res.body.status, 'queued');
      assert.equal((await call('GET', '/v1/delegation/task/soma-1')).body.status, 'queued');
      const cb = await call('POST', '/callback', {
        task_id: 'soma-1',
        status: 'completed',
        result: { summary: 'ok' },
      });
      assert.equal(cb.status, 200, JSON.stringify(cb.body));
      const poll = await call('GET', '/v1/delegation/task/soma-1');
      assert.equal(poll.body.status, 'completed');
      assert.deepEqual(poll.body.result, { summary: 'ok' });
      // Polling by Agentry's own id works too, and the same task_id again is the same task.
      assert.equal((await call('GET', `/v1/delegation/task/${res.body.id}`)).body.status, 'completed');
      assert.equal((await call('POST', '/v1/delegation/task', { task_id: 'soma-1' })).body.id, res.body.id);
      // The task is an ordinary Agentry task, on the default agent.
      const task = await s.request('GET', `/v1/tasks/${res.body.id}`);
      assert.equal(task.body.status, 'completed');
    });

    it('records the task metadata a client sends, and shows it on every poll', async () => {
      const metadata = { requester: 'ops-bot', ticket: 'INC-42' };
      const res = await call('POST', '/v1/delegation/task', {
        task_id: 'soma-meta',
        payload: { goal: 'triage' },
        metadata,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.metadata, metadata);
      assert.deepEqual((await call('GET', '/v1/delegation/task/soma-meta')).body.metadata, metadata);
    });

    it("records a worker's failure, and refuses a second, different report with 409", async () => {
      await call('POST', '/v1/delegation/task', { task_id: 'soma-2', title: 'external' });
      const cb = await call('POST', '/callback', {
        task_id: 'soma-2',
        status: 'failed',
        error: 'worker gave up',
      });
      assert.equal(cb.status, 200, JSON.stringify(cb.body));
      const poll = await call('GET', '/v1/delegation/task/soma-2');
      assert.equal(poll.body.status, 'failed');
      assert.equal(poll.body.error, 'worker gave up');
      const twice = await call('POST', '/callback', { task_id: 'soma-2', status: 'completed' });
      assert.equal(twice.status, 409, JSON.stringify(twice.body));
    });

    it('refuses another tenant, no key, bad bodies and unknown tasks with 4xx', async () => {
      assert.equal(
        (await call('POST', '/v1/delegation/task', {}, { 'X-Tenant-Id': 'someone-else' })).status,
        403,
      );
      assert.equal((await fetch(`${s.url}/v1/delegation/task/soma-1`)).status, 401);
      assert.equal((await call('POST', '/v1/delegation/task', { payload: 'x' })).status, 400);
      assert.equal((await call('POST', '/callback', { task_id: 'soma-1', status: 'failed' })).status, 400);
      assert.equal((await call('GET', '/v1/delegation/task/nothing-here')).status, 404);
    });
  });
}
