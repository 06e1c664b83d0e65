/**
 * Agent names work wherever a /v1 route takes an agent id: unique per tenant whatever their case,
 * found whatever their case, and ids still work beside them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`agent names in /v1 routes on ${store}`, () => {
    let s: TestServer;
    let id: string;
    let other: string;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
      const made = await s.request('POST', '/v1/agents', { body: { name: 'Support Bot' } });
      assert.equal(made.status, 201, made.text);
      id = made.body.id;
      other = (await s.request('POST', '/v1/agents', { body: { name: 'critic' } })).body.id;
    });
    after(() => s.close());

    it('keeps names unique whatever their case, and refuses a name shaped like an id', async () => {
      const clash = await s.request('POST', '/v1/agents', { body: { name: 'SUPPORT BOT' } });
      assert.equal(clash.status, 409, clash.text);
      const rename = await s.request('PATCH', `/v1/agents/${other}`, { body: { name: 'support bot' } });
      assert.equal(rename.status, 409, rename.text);
      // Both name the field they are about, as a validation error does, for a form to say it there.
      for (const r of [clash, rename])
        assert.deepEqual(
          r.body.error.details.map((d: { path: string }) => d.path),
          ['name'],
        );
      const idShaped = await s.request('POST', '/v1/agents', {
        body: { name: '0190a0a0-0000-7000-8000-000000000000' },
      });
      assert.equal(idShaped.status, 400, idShaped.text);
    });

    it('reads, changes and chats by name in any case, and by id', async () => {
      for (const ref of ['Support Bot', 'support bot', 'SUPPORT%20BOT', id]) {
        const got = await s.request('GET', `/v1/agents/${ref.replaceAll(' ', '%20')}`);
        assert.equal(got.status, 200, `${ref}: ${got.text}`);
        assert.equal(got.body.id, id);
      }
      const patched = await s.request('PATCH', '/v1/agents/support%20bot', {
        body: { description: 'helps' },
      });
      assert.equal(patched.body.description, 'helps');
      const chat = await s.request('POST', '/v1/agents/SUPPORT%20BOT/chat', {
        body: { message: 'hello', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      const viaBody = await s.request('POST', '/v1/chat', {
        body: {
          agent_config_id: 'support bot',
          message: 'again',
          session_id: chat.body.session_id,
          stream: false,
        },
      });
      assert.equal(viaBody.status, 200, viaBody.text);
      assert.equal(viaBody.body.session_id, chat.body.session_id);
      assert.equal((await s.request('GET', '/v1/agents/nobody')).status, 404);
    });

    it('filters sessions and runs by name', async () => {
      const sessions = await s.request('GET', '/v1/sessions?agent_id=support%20bot');
      assert.equal(sessions.status, 200, sessions.text);
      assert.ok(sessions.body.data.length >= 1);
      assert.ok(sessions.body.data.every((x: { agent_id: string }) => x.agent_id === id));
      const runs = await s.request('GET', '/v1/runs?agent_id=Support%20Bot');
      assert.equal(runs.status, 200, runs.text);
      assert.equal(runs.body.data.length, 2);
      assert.equal((await s.request('GET', '/v1/runs?agent_id=nobody')).status, 404);
    });

    it('queues and lists tasks, and schedules them, by name', async () => {
      const task = await s.request('POST', '/v1/tasks', {
        body: { agent_id: 'SUPPORT BOT', task_type: 'default', title: 'Answer the ticket' },
      });
      assert.equal(task.status, 202, task.text);
      assert.equal(task.body.agent_id, id);
      const listed = await s.request('GET', '/v1/tasks?agent_id=support%20bot');
      assert.equal(listed.body.data.length, 1);
      const schedule = await s.request('POST', '/v1/schedules', {
        body: {
          name: 'nightly',
          interval_seconds: 3600,
          agent_id: 'support bot',
          task_type: 'default',
          title: 't',
        },
      });
      assert.equal(schedule.status, 201, schedule.text);
      assert.equal(schedule.body.agent_id, id);
      const moved = await s.request('PATCH', `/v1/schedules/${schedule.body.id}`, {
        body: { agent_id: 'critic' },
      });
      assert.equal(moved.body.agent_id, other);
    });

    it('builds multi-agent specs and runs them from named members', async () => {
      const spec = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'desk',
          kind: 'dag',
          members: ['support bot', other],
          edges: [{ from: 'Support Bot', to: 'CRITIC' }],
        },
      });
      assert.equal(spec.status, 201, spec.text);
      assert.deepEqual(spec.body.members, [id, other]);
      assert.equal(spec.body.entry_agent_id, id);
      assert.deepEqual(spec.body.edges, [{ from: id, to: other }]);
      const changed = await s.request('PATCH', `/v1/multi-agents/${spec.body.id}`, {
        body: { entry_agent_id: 'critic', edges: [] },
      });
      assert.equal(changed.body.entry_agent_id, other, changed.text);
      const run = await s.request('POST', `/v1/multi-agents/${spec.body.id}/run`, {
        body: { message: 'go', stream: false, entry_agent_override: 'support bot' },
      });
      assert.equal(run.status, 200, run.text);
    });

    it("lists a local-dev agent's deployments by name", async () => {
      const res = await s.request('GET', '/v1/agents/support%20bot/deployments');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.data, []);
    });
  });
}
