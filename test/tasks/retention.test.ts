import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { readEvents } from '../../src/events/log.ts';
import { NonRetryableError } from '../../src/tasks/handlers.ts';
import { stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually, startQueueServer, waitForStatus } from './helpers.ts';

/** A webhook receiver on loopback, standing in for a customer's endpoint. */
function receiver(): Promise<{ server: Server; url: string; got: string[] }> {
  const got: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push(body);
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got }),
    ),
  );
}

const allowLoopback = tenantsFileSchema.parse({
  tenants: { default: { network: { allow_private_callbacks: true } } },
});

for (const store of stores) {
  describe(`task retention on ${store}`, () => {
    let s: TestServer;
    let agent: { id: string };
    let hook: Awaited<ReturnType<typeof receiver>>;

    before(async () => {
      s = await startQueueServer(store);
      s.app.services.policies.set(allowLoopback);
      hook = await receiver();
      agent = await createAgent(s, 'bulk-worker', [
        { name: 'bulk', retention: 'delete' },
        { name: 'kept', retention: 'keep' },
        { name: 'plain' },
      ]);
      s.app.services.taskHandlers.register({ agentId: agent.id }, async (task) => {
        if ((task.payload as { fail?: boolean }).fail) throw new NonRetryableError('bad input');
        return { result: { echoed: task.payload }, summary: 'ok' };
      });
    });
    after(async () => {
      hook.server.close();
      await s.close();
    });

    const create = (task_type: string, payload: Record<string, unknown> = {}, extra = {}) =>
      s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type, title: task_type, payload, ...extra },
      });

    it('refuses a retention that is neither keep nor delete (400)', async () => {
      for (const retention of ['forever', 7, null]) {
        const res = await s.request('POST', '/v1/agents', {
          body: { name: `odd-${String(retention)}`, task_types: [{ name: 'x', retention }] },
        });
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.error.code, 'validation_error');
        assert.match(JSON.stringify(res.body.error.details), /retention/);
      }
      const types = (await s.request('GET', `/v1/agents/${agent.id}`)).body.task_types;
      assert.equal(types[0].retention, 'delete');
    });

    it('deletes a delete-mode task once it succeeds, after its callback and completed event', async () => {
      const res = await create('bulk', { n: 1 }, { callback_url: hook.url });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.retention, 'delete');
      const id = res.body.id as string;
      await eventually(async () =>
        (await s.request('GET', `/v1/tasks/${id}`)).status === 404 ? true : undefined,
      );
      const gone = await s.request('GET', `/v1/tasks/${id}`);
      assert.equal(gone.body.error.code, 'not_found');
      const [row] = await s.app.db.query('select 1 from tasks where id = $1', [id]);
      assert.equal(row, undefined, 'the row is gone');

      const body = await eventually(async () => hook.got.find((b) => JSON.parse(b).id === id));
      const sent = JSON.parse(body);
      assert.equal(sent.status, 'completed');
      assert.equal(sent.retention, 'delete');
      assert.deepEqual(sent.result, { echoed: { n: 1 } });
      assert.equal(sent.result_summary, 'ok');
      assert.equal(sent.lease_owner, null);
      assert.ok(sent.completed_at && !Number.isNaN(Date.parse(sent.completed_at)));
      assert.equal(sent.delete_on_success, undefined, 'the column is not sent as such');
      const [outbox] = await s.app.db.query<{ delivered: boolean }>(
        'select delivered_at is not null as delivered from callback_outbox where task_id = $1',
        [id],
      );
      assert.equal(outbox?.delivered, true);

      // The stream keeps only the outcome; the journal has no attempt entry for it.
      const types = (await readEvents(s.app.db, id)).map((e) => e.type);
      assert.deepEqual(types, ['completed']);
      const journal = await s.app.db.query('select 1 from journal where target = $1', [id]);
      assert.equal(journal.length, 0);
    });

    it('keeps a delete-mode task that fails, for inspection', async () => {
      const res = await create('bulk', { fail: true });
      const task = await waitForStatus(s, res.body.id, ['failed']);
      assert.equal(task.retention, 'delete');
      assert.match(task.error_message, /bad input/);
      const again = await s.request('GET', `/v1/tasks/${res.body.id}`);
      assert.equal(again.status, 200);
    });

    it('keeps succeeded tasks of keep-mode types (the default) as before', async () => {
      for (const type of ['kept', 'plain']) {
        const res = await create(type, { n: 2 }, { callback_url: hook.url });
        const task = await waitForStatus(s, res.body.id, ['completed']);
        assert.equal(task.retention, 'keep');
        assert.deepEqual(task.result, { echoed: { n: 2 } });
        const types = (await readEvents(s.app.db, task.id)).map((e) => e.type);
        assert.deepEqual(types, ['created', 'started', 'completed']);
        const journal = await s.app.db.query(
          `select 1 from journal where target = $1 and action = 'task.attempt'`,
          [task.id],
        );
        assert.equal(journal.length, 1);
        const body = await eventually(async () => hook.got.find((b) => JSON.parse(b).id === task.id));
        assert.equal(JSON.parse(body).status, 'completed');
        const delivered = await eventually(async () => {
          const t = await s.request('GET', `/v1/tasks/${task.id}`);
          return t.body.callback_status === '204' ? t.body : undefined;
        });
        assert.equal(delivered.callback_attempts, 1);
      }
    });
  });
}
