/**
 * SomaAgent01's delegation gateway with downstream workers (somaagent01.md): "A lightweight
 * delegation gateway now exposes `/v1/delegation/task` for posting tasks onto the
 * `somastack.delegation` topic. … the service records task metadata in Postgres until callbacks
 * land. Clients can poll `/v1/delegation/task/{task_id}` or POST to `/callback` when downstream
 * workers finish." With the topic (or a task type) marked external, Agentry's own workers, running
 * here, leave those tasks to the downstream worker: the callback completes them, never a 409.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`SomaAgent01 tasks for external workers on ${store}`, () => {
    let s: TestServer;
    let dir = '';
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${s.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
      const json: any = await res.json();
      return { status: res.status, body: json };
    };
    const finished = (taskId: string) =>
      eventually(
        async () => {
          const poll = await call('GET', `/v1/delegation/task/${taskId}`);
          return poll.body.status === 'completed' || poll.body.status === 'failed' ? poll : undefined;
        },
        30_000,
        `${taskId} to finish`,
      );

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-soma-external-'));
      const file = path.join(dir, 'agentry.yaml');
      writeFileSync(file, '');
      // As an operator sets it; the task workers run in this process (tasks.workers as by default).
      const { compat } = loadConfig({
        file,
        env: {
          AGENTRY_COMPAT_SOMA: 'true',
          AGENTRY_SOMA_EXTERNAL_TOPICS: 'somastack.delegation',
          AGENTRY_SOMA_EXTERNAL_TASK_TYPES: 'triage',
        },
      });
      assert.deepEqual(compat.soma_external, { topics: ['somastack.delegation'], task_types: ['triage'] });
      s = await startServer(store, { compat });
      assert.ok(s.app.services.config.tasks.workers > 0);
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a delegation on the external topic waits for the downstream worker, whose /callback completes it', async () => {
      const res = await call('POST', '/v1/delegation/task', {
        task_id: 'ext-1',
        payload: { goal: 'summarise the incident' },
        metadata: { origin: 'soma' },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'queued');
      // A delegation on another topic runs here: the workers are live, and still leave ext-1 alone.
      const local = await call('POST', '/v1/delegation/task', { task_id: 'local-1', topic: 'local' });
      assert.equal(local.status, 200, JSON.stringify(local.body));
      assert.equal((await finished('local-1')).body.status, 'completed');
      await sleep(300);
      const waiting = await call('GET', '/v1/delegation/task/ext-1');
      assert.equal(waiting.body.status, 'queued');
      const task = await call('GET', `/v1/tasks/${waiting.body.id}`);
      assert.equal(task.body.external, 'somastack.delegation');
      assert.equal(task.body.attempts, 0);

      const cb = await call('POST', '/callback', {
        task_id: 'ext-1',
        status: 'completed',
        result: { summary: 'ok' },
      });
      assert.equal(cb.status, 200, JSON.stringify(cb.body));
      assert.equal(cb.body.status, 'completed');
      const poll = await call('GET', '/v1/delegation/task/ext-1');
      assert.equal(poll.body.status, 'completed');
      assert.deepEqual(poll.body.result, { summary: 'ok' });
      assert.deepEqual(poll.body.metadata, { origin: 'soma' });
    });

    it('a delegation of an external task type waits too, and a failed report fails it', async () => {
      const agent = await call('POST', '/v1/agents', {
        name: 'soma-ops',
        task_types: [{ name: 'default' }, { name: 'triage' }],
      });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
      const res = await call('POST', '/v1/delegation/task', {
        task_id: 'ext-2',
        agent: 'soma-ops',
        task_type: 'triage',
        topic: 'local',
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const control = await call('POST', '/v1/delegation/task', {
        task_id: 'local-2',
        agent: 'soma-ops',
        topic: 'local',
      });
      assert.equal(control.status, 200);
      await finished('local-2');
      await sleep(300);
      assert.equal((await call('GET', '/v1/delegation/task/ext-2')).body.status, 'queued');
      const cb = await call('POST', '/callback', { task_id: 'ext-2', status: 'failed', error: 'no pager' });
      assert.equal(cb.status, 200, JSON.stringify(cb.body));
      const poll = await call('GET', '/v1/delegation/task/ext-2');
      assert.equal(poll.body.status, 'failed');
      assert.equal(poll.body.error, 'no pager');
    });

    it('/v1/tasks takes external too, and a waiting task is not counted as backlog', async () => {
      const agents = await call('GET', '/v1/agents?limit=100');
      const ops = agents.body.data.find((a: { name: string }) => a.name === 'soma-ops');
      const res = await call('POST', '/v1/tasks', {
        agent_id: ops.id,
        task_type: 'default',
        title: 'billing run',
        external: 'billing-worker',
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.external, 'billing-worker');
      await sleep(500);
      const status = await call('GET', '/v1/tasks/status');
      assert.equal(status.body.counts.pending, 1);
      assert.equal(status.body.oldest_pending_age_seconds, null);
      const cb = await call('POST', `/v1/tasks/${res.body.id}/callback`, { status: 'completed', result: 7 });
      assert.equal(cb.status, 200, JSON.stringify(cb.body));
      assert.equal(cb.body.status, 'completed');
    });

    it('refuses an empty topic with 400', async () => {
      const res = await call('POST', '/v1/delegation/task', { task_id: 'bad', topic: '' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_error');
    });
  });
}
