/**
 * Version pins: chat, tasks and teams run the version they ask for (`agent_version: 1`, `name@1`),
 * the latest otherwise, and record the version that ran on the run, the task and each team member.
 * The two versions here differ in their model, which each model step records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`agent version pins on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    let otherId: string;
    before(async () => {
      s = await startServer(store);
      const made = await s.request('POST', '/v1/agents', { body: { name: 'pinned', model: 'mock/one' } });
      assert.equal(made.status, 201, made.text);
      agentId = made.body.id;
      const v2 = await s.request('PATCH', '/v1/agents/pinned', { body: { model: 'mock/two' } });
      assert.equal(v2.body.version, 2);
      otherId = (await s.request('POST', '/v1/agents', { body: { name: 'other', model: 'mock/other' } })).body
        .id;
    });
    after(() => s.close());

    const runOf = async (runId: string) => {
      const run = await s.request('GET', `/v1/runs/${runId}`);
      assert.equal(run.status, 200, run.text);
      return run.body;
    };
    const chat = (path: string, body: Record<string, unknown>) =>
      s.request('POST', path, { body: { message: 'hello', stream: false, ...body } });

    it('runs the pinned version, by name@n or agent_version, and records it', async () => {
      for (const [path, body] of [
        ['/v1/chat', { agent_config_id: 'pinned@1' }],
        ['/v1/chat', { agent_config_id: agentId, agent_version: 1 }],
        ['/v1/agents/pinned@1/chat', {}],
        [`/v1/agents/${agentId}/chat`, { agent_version: 1 }],
      ] as const) {
        const res = await chat(path, body);
        assert.equal(res.status, 200, `${path}: ${res.text}`);
        const run = await runOf(res.body.run_id);
        assert.equal(run.agent_version, 1, path);
        assert.match(run.steps[0].name, /one/, `${path} ran version 1's model`);
      }
    });

    it('runs the latest unpinned, and a session may take turns on either', async () => {
      const first = await chat('/v1/chat', { agent_config_id: 'pinned' });
      assert.equal(first.status, 200, first.text);
      const latest = await runOf(first.body.run_id);
      assert.equal(latest.agent_version, 2);
      assert.match(latest.steps[0].name, /two/);
      const next = await chat('/v1/chat', { agent_config_id: 'pinned@1', session_id: first.body.session_id });
      assert.equal(next.status, 200, next.text);
      assert.equal((await runOf(next.body.run_id)).agent_version, 1);
    });

    it('refuses unknown versions and malformed pins before anything runs', async () => {
      const unknown = await chat('/v1/chat', { agent_config_id: 'pinned@9' });
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error.message, /no version 9; it has versions 1 to 2/);
      assert.equal((await chat('/v1/agents/pinned/chat', { agent_version: 9 })).status, 404);
      // `@one` reads as a label (none is set); `@One` is neither a label nor a number.
      assert.equal((await chat('/v1/chat', { agent_config_id: 'pinned@one' })).status, 404);
      assert.equal((await chat('/v1/chat', { agent_config_id: 'pinned@One' })).status, 400);
      assert.equal((await chat('/v1/chat', { agent_config_id: 'pinned@0' })).status, 400);
      assert.equal((await chat('/v1/chat', { agent_config_id: 'pinned', agent_version: 0 })).status, 400);
      assert.equal((await chat('/v1/chat', { agent_config_id: 'pinned', agent_version: '1' })).status, 400);
      const both = await chat('/v1/chat', { agent_config_id: 'pinned@1', agent_version: 2 });
      assert.equal(both.status, 400);
      assert.match(both.body.error.message, /pins version 1 but agent_version is 2/);
    });

    it('runs a task at its pinned version, or the latest when it starts, and records it', async () => {
      const create = (body: Record<string, unknown>) =>
        s.request('POST', '/v1/tasks', { body: { task_type: 'default', title: 'say hello', ...body } });
      const pinned = await create({ agent_id: 'pinned@1' });
      assert.equal(pinned.status, 202, pinned.text);
      assert.equal(pinned.body.agent_version, 1);
      const latest = await create({ agent_id: 'pinned' });
      assert.equal(latest.body.agent_version, null, 'not pinned: decided when it starts');
      for (const [task, version] of [
        [pinned.body, 1],
        [latest.body, 2],
      ] as const) {
        const done = await eventually(async () => {
          const t = await s.request('GET', `/v1/tasks/${task.id}`);
          return t.body.status === 'completed' ? t.body : undefined;
        });
        assert.equal(done.agent_version, version);
        assert.equal((await runOf(done.result.run_id)).agent_version, version);
      }
      assert.equal((await create({ agent_id: 'pinned@9' })).status, 404);
      assert.equal((await create({ agent_id: 'pinned', agent_version: -1 })).status, 400);
    });

    it('pins team members with name@n and records the version each member ran', async () => {
      const spec = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'pinned team', kind: 'swarm', members: ['pinned@1', 'other'] },
      });
      assert.equal(spec.status, 201, spec.text);
      assert.deepEqual(spec.body.members, [agentId, otherId]);
      assert.deepEqual(spec.body.member_versions, { [agentId]: 1 });
      const res = await s.request('POST', `/v1/multi-agents/${spec.body.id}/run`, {
        body: { message: 'hello', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      const run = await runOf(res.body.run_id);
      assert.equal(run.agent_version, 1, 'the entry agent at its pinned version');
      assert.deepEqual(run.member_versions, { [agentId]: 1, [otherId]: 1 });
      assert.match(run.steps[0].name, /one/);

      const unpinned = await s.request('PATCH', `/v1/multi-agents/${spec.body.id}`, {
        body: { members: ['pinned', 'other'] },
      });
      assert.deepEqual(unpinned.body.member_versions, {});
      const bad = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'bad team', kind: 'swarm', members: ['pinned@9'] },
      });
      assert.equal(bad.status, 404, bad.text);
      const clash = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'clash', kind: 'dag', members: ['pinned@1'], entry_agent_id: 'pinned@2' },
      });
      assert.equal(clash.status, 400, clash.text);
    });
  });
}
