import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NonRetryableError } from '../../src/tasks/handlers.ts';
import { stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually, readSse, startQueueServer, waitForStatus } from './helpers.ts';

for (const store of stores) {
  describe(`tasks API on ${store}`, () => {
    let s: TestServer;
    let agent: { id: string; name: string };
    let flaky: { id: string };
    let slow: { id: string };
    const flakyCalls = new Map<string, number>();

    before(async () => {
      s = await startQueueServer(store);
      agent = await createAgent(s, 'summarizer');
      flaky = await createAgent(s, 'flaky', [{ name: 'job' }, { name: 'fatal' }]);
      slow = await createAgent(s, 'slow', [{ name: 'wait' }]);
      const handlers = s.app.services.taskHandlers;
      handlers.register({ agentId: agent.id }, async (task, ctx) => {
        await ctx.progress({ step: 'reading' });
        const text = (task.payload as { text: string }).text;
        return { result: { length: text.length }, summary: `${text.length} characters` };
      });
      handlers.register({ agentId: flaky.id, taskType: 'job' }, async (task) => {
        const n = (flakyCalls.get(task.id) ?? 0) + 1;
        flakyCalls.set(task.id, n);
        if (n < 3) throw new Error(`flaky failure ${n}`);
        return { result: { ok: true, attempt: task.attempt } };
      });
      handlers.register({ agentId: flaky.id, taskType: 'fatal' }, async () => {
        throw new NonRetryableError('input can never work');
      });
      handlers.register({ agentId: slow.id }, (_task, ctx) => {
        return new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        });
      });
    });
    after(() => s.close());

    it('enqueues (202 pending), runs the handler, and stores result and summary', async () => {
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'summarize', title: 'Sum it', payload: { text: 'hello' } },
      });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.status, 'pending');
      assert.equal(res.body.attempts, 0);
      assert.equal(res.body.max_attempts, 3);
      const done = await waitForStatus(s, res.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', done.error_message);
      assert.deepEqual(done.result, { length: 5 });
      assert.equal(done.result_summary, '5 characters');
      assert.equal(done.attempts, 1);
      assert.ok(done.started_at && done.completed_at);
      assert.equal(done.lease_owner, null);
    });

    it('validates: unknown agent 404, undeclared task type 400 with the allowed list, payload paths', async () => {
      const unknown = await s.request('POST', '/v1/tasks', {
        body: { agent_id: '0190a0a0-0000-7000-8000-000000000000', task_type: 'summarize', title: 't' },
      });
      assert.equal(unknown.status, 404);
      const badType = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'translate', title: 't' },
      });
      assert.equal(badType.status, 400);
      assert.match(badType.body.error.message, /allowed: summarize/);
      const badPayload = await s.request('POST', '/v1/tasks', {
        body: {
          agent_id: agent.id,
          task_type: 'summarize',
          title: 't',
          payload: { opts: { n: 'x' }, extra: 1 },
        },
      });
      assert.equal(badPayload.status, 400);
      const paths = badPayload.body.error.details.map((d: { path: string }) => d.path).sort();
      assert.deepEqual(paths, ['payload.extra', 'payload.opts.n', 'payload.text']);
      const list = await s.request('GET', '/v1/tasks?limit=500');
      assert.ok(!list.body.data.some((t: { title: string }) => t.title === 't'), 'nothing was created');
    });

    it('returns the existing task for a repeated idempotency key and creates nothing', async () => {
      const body = {
        agent_id: agent.id,
        task_type: 'summarize',
        title: 'once',
        payload: { text: 'x' },
        idempotency_key: 'k-1',
        delay_seconds: 3600,
      };
      const first = await s.request('POST', '/v1/tasks', { body });
      const again = await s.request('POST', '/v1/tasks', { body: { ...body, title: 'twice' } });
      assert.equal(first.status, 202);
      assert.equal(again.status, 200);
      assert.equal(again.body.id, first.body.id);
      assert.equal(again.body.title, 'once');
      const list = await s.request('GET', `/v1/tasks?agent_id=${agent.id}&limit=500`);
      assert.equal(
        list.body.data.filter((t: { idempotency_key: string }) => t.idempotency_key === 'k-1').length,
        1,
      );
    });

    it('retries with backoff until the handler succeeds, and fails at once on a non-retryable error', async () => {
      const job = await s.request('POST', '/v1/tasks', {
        body: { agent_id: flaky.id, task_type: 'job', title: 'j' },
      });
      const done = await waitForStatus(s, job.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed');
      assert.equal(done.attempts, 3);
      assert.deepEqual(done.result, { ok: true, attempt: 3 });

      const once = await s.request('POST', '/v1/tasks', {
        body: { agent_id: flaky.id, task_type: 'job', title: 'j', max_attempts: 2 },
      });
      const failed = await waitForStatus(s, once.body.id, ['completed', 'failed']);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempts, 2);
      assert.equal(failed.error_message, 'flaky failure 2');

      const fatal = await s.request('POST', '/v1/tasks', {
        body: { agent_id: flaky.id, task_type: 'fatal', title: 'f', max_attempts: 5 },
      });
      const dead = await waitForStatus(s, fatal.body.id, ['failed']);
      assert.equal(dead.attempts, 1);
      assert.equal(dead.error_message, 'input can never work');

      // retry: failed → pending with attempts reset, then it runs again
      const retried = await s.request('POST', `/v1/tasks/${failed.id}/retry`);
      assert.equal(retried.status, 200);
      assert.equal(retried.body.attempts, 0);
      assert.ok(['pending', 'in_progress', 'completed'].includes(retried.body.status));
      const second = await waitForStatus(s, failed.id, ['completed', 'failed']);
      assert.equal(second.status, 'completed');
      assert.equal((await s.request('POST', `/v1/tasks/${failed.id}/retry`)).status, 409);
    });

    it('cancels a pending task at once, and aborts a running one', async () => {
      const later = await s.request('POST', '/v1/tasks', {
        body: {
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'later',
          payload: { text: 'x' },
          delay_seconds: 600,
        },
      });
      const cancelled = await s.request('POST', `/v1/tasks/${later.body.id}/cancel`);
      assert.equal(cancelled.status, 200);
      assert.equal(cancelled.body.status, 'cancelled');
      assert.equal((await s.request('POST', `/v1/tasks/${later.body.id}/cancel`)).status, 409);

      const running = await s.request('POST', '/v1/tasks', {
        body: { agent_id: slow.id, task_type: 'wait', title: 'w' },
      });
      await waitForStatus(s, running.body.id, ['in_progress']);
      const stop = await s.request('POST', `/v1/tasks/${running.body.id}/cancel`);
      assert.equal(stop.status, 200);
      assert.equal(stop.body.status, 'cancelled');
      // The handler saw the abort and its rejection did not turn the task into a failure: the worker
      // frees the attempt's slot only after recording its outcome.
      await eventually(
        async () => (s.app.services.queue!.worker.active === 0 ? true : undefined),
        15_000,
        'the cancelled attempt to end',
      );
      const after = await s.request('GET', `/v1/tasks/${running.body.id}`);
      assert.equal(after.body.status, 'cancelled');
      assert.equal(after.body.attempts, 1);
    });

    it('lists newest first with filters, limit bounds and stable paging', async () => {
      for (let i = 0; i < 5; i++) {
        await s.request('POST', '/v1/tasks', {
          body: {
            agent_id: agent.id,
            task_type: 'summarize',
            title: `page-${i}`,
            payload: { text: 'p' },
            delay_seconds: 900,
          },
        });
      }
      const all = await s.request('GET', `/v1/tasks?agent_id=${agent.id}&status=pending&limit=500`);
      const titles = all.body.data
        .map((t: { title: string }) => t.title)
        .filter((t: string) => t.startsWith('page-'));
      assert.deepEqual(titles, ['page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
      const p1 = await s.request('GET', `/v1/tasks?agent_id=${agent.id}&status=pending&limit=2&offset=0`);
      const p2 = await s.request('GET', `/v1/tasks?agent_id=${agent.id}&status=pending&limit=2&offset=2`);
      assert.equal(p1.body.limit, 2);
      assert.equal(p1.body.total, all.body.total);
      assert.notEqual(p1.body.data[1].id, p2.body.data[0].id);
      assert.equal((await s.request('GET', '/v1/tasks?limit=501')).status, 400);
      assert.equal((await s.request('GET', '/v1/tasks?status=done')).status, 400);
    });

    it('streams events over SSE, closes after the terminal one, and resumes with Last-Event-ID', async () => {
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'summarize', title: 'sse', payload: { text: 'stream me' } },
      });
      const url = `${s.url}/v1/tasks/${res.body.id}/events`;
      const auth = { authorization: `Bearer ${s.adminKey}` };
      const all = await readSse(url, auth);
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.events.map((e) => e.event),
        ['created', 'started', 'progress', 'completed'],
      );
      assert.equal(all.events[2]!.data.step, 'reading');
      const ids = all.events.map((e) => Number(e.id));
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids,
        'ids increase',
      );
      const resumed = await readSse(url, { ...auth, 'last-event-id': String(ids[1]) });
      assert.deepEqual(
        resumed.events.map((e) => e.event),
        ['progress', 'completed'],
      );
    });

    it('accepts an external report once, idempotently, and 409s a different one', async () => {
      const res = await s.request('POST', '/v1/tasks', {
        body: {
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'ext',
          payload: { text: 'e' },
          delay_seconds: 600,
        },
      });
      const report = { status: 'completed', result: { from: 'outside' }, result_summary: 'done elsewhere' };
      const first = await s.request('POST', `/v1/tasks/${res.body.id}/callback`, { body: report });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.status, 'completed');
      assert.deepEqual(first.body.result, { from: 'outside' });
      const same = await s.request('POST', `/v1/tasks/${res.body.id}/callback`, { body: report });
      assert.equal(same.status, 200);
      const other = await s.request('POST', `/v1/tasks/${res.body.id}/callback`, {
        body: { status: 'failed', error: 'nope' },
      });
      assert.equal(other.status, 409);
      const bad = await s.request('POST', `/v1/tasks/${res.body.id}/callback`, {
        body: { status: 'failed' },
      });
      assert.equal(bad.status, 400);
    });

    it('runs the agent by default: one model call with the rendered prompt, answer stored', async () => {
      const plain = await createAgent(s, 'plain-agent', [
        { name: 'ask', prompt_template: 'Answer about {{payload.topic}}: {{title}}' },
      ]);
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: plain.id, task_type: 'ask', title: 'what is 2+2', payload: { topic: 'sums' } },
      });
      const done = await waitForStatus(s, res.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', done.error_message);
      assert.equal(typeof done.result.answer, 'string');
      assert.ok(done.result.answer.length > 0);
      assert.match(done.result.model, /^mock\//);
      assert.ok(done.result.usage.total_tokens > 0);
      assert.equal(done.result_summary, done.result.answer.slice(0, 200));
    });

    it("never shows one tenant's tasks to another (404)", async () => {
      const t = await s.request('POST', '/v1/tenants', { body: { name: `other-${store}` } });
      assert.equal(t.status, 201, t.text);
      const key = t.body.admin_key.secret;
      const mine = await s.request('POST', '/v1/tasks', {
        body: {
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'private',
          payload: { text: 'x' },
          delay_seconds: 600,
        },
      });
      for (const [method, path] of [
        ['GET', `/v1/tasks/${mine.body.id}`],
        ['POST', `/v1/tasks/${mine.body.id}/cancel`],
        ['POST', `/v1/tasks/${mine.body.id}/retry`],
        ['GET', `/v1/tasks/${mine.body.id}/events`],
      ] as const) {
        assert.equal((await s.request(method, path, { key })).status, 404, `${method} ${path}`);
      }
      const theirs = await s.request('GET', '/v1/tasks', { key });
      assert.equal(theirs.body.total, 0);
      const asAgent = await s.request('POST', '/v1/tasks', {
        key,
        body: { agent_id: agent.id, task_type: 'summarize', title: 'x', payload: { text: 'x' } },
      });
      assert.equal(asAgent.status, 404, 'another tenant’s agent does not exist for them');
    });
  });
}
