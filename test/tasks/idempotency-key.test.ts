import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { fastQueue, waitForStatus } from './helpers.ts';

/**
 * The queue runs a task at least once: an attempt that fails (or whose worker dies) runs again.
 * Handlers and tools see a key that is the same on every attempt, to de-duplicate side effects by.
 */
for (const store of stores) {
  describe(`idempotency keys across attempts (${store})`, () => {
    let s: TestServer;
    const handlerKeys = new Map<string, string[]>();
    const toolKeys: string[] = [];

    before(async () => {
      s = await startServer(store, {
        tasks: fastQueue,
        server: { shutdown_grace_seconds: 2 },
        // A scripted upstream failure should fail the run at once, not be retried inside it.
        models: { retries: { max: 0 } },
      });
      s.app.services.tools.register({
        name: 'send_invoice',
        description: 'A side effect that must not happen twice.',
        parameters: { type: 'object', properties: {} },
        handler: async (_args, ctx) => {
          toolKeys.push(ctx.idempotencyKey);
          return 'sent';
        },
      });
    });
    after(() => s.close());

    it('a handler sees the same key on every attempt of a task', async () => {
      const res = await s.request('POST', '/v1/agents', {
        body: { name: 'billing', task_types: [{ name: 'bill' }] },
      });
      s.app.services.taskHandlers.register({ agentId: res.body.id }, async (task, ctx) => {
        const seen = handlerKeys.get(task.id) ?? [];
        seen.push(ctx.idempotencyKey);
        handlerKeys.set(task.id, seen);
        if (seen.length === 1) throw new Error('the first attempt fails after its side effect');
        return { result: { ok: true } };
      });
      const task = await s.request('POST', '/v1/tasks', {
        body: { agent_id: res.body.id, task_type: 'bill', title: 'bill', idempotency_key: 'client-key-1' },
      });
      const done = await waitForStatus(s, task.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed');
      const keys = handlerKeys.get(task.body.id)!;
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1]);
      assert.equal(keys[0], `task:${task.body.id}`);
    });

    it("a tool called by the task's agent sees the same key when the task runs again", async () => {
      const res = await s.request('POST', '/v1/agents', {
        body: {
          name: 'biller',
          model: 'mock/biller',
          tools: ['send_invoice'],
          task_types: [{ name: 'bill' }],
        },
      });
      assert.equal(res.status, 201, res.text);
      const invoice = { tool_calls: [{ name: 'send_invoice', arguments: {} }] };
      s.app.services.models.mock.script('biller', [
        // First attempt: the invoice goes out, then the model fails (a retryable upstream error).
        invoice,
        { error: { status: 503, message: 'upstream overloaded' } },
        // Second attempt: the same call at the same place in the run.
        invoice,
        { content: 'billed' },
      ]);
      const task = await s.request('POST', '/v1/tasks', {
        body: { agent_id: res.body.id, task_type: 'bill', title: 'bill' },
      });
      const done = await waitForStatus(s, task.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.attempts, 2);
      assert.equal(toolKeys.length, 2);
      assert.equal(toolKeys[0], toolKeys[1]);
      assert.ok(toolKeys[0]!.startsWith(`task:${task.body.id}:`), toolKeys[0]);
    });
  });
}
