/**
 * Replay and fork: a new run from a recorded step of an earlier one, with the conversation before
 * that step and the changes asked for (message, agent version, model, tool results), linked to its
 * parent; and two runs compared side by side. The mock model reports a tool's result in its answer,
 * so a replaced result shows in the fork's output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`fork and compare runs on ${store}`, () => {
    let s: TestServer;
    let parent: { id: string; session_id: string };
    let toolCallId: string;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'adder', model: 'mock/one', tools: ['calculator'] },
      });
      assert.equal(made.status, 201, made.text);
      const res = await s.request('POST', '/v1/chat', {
        body: { agent_config_id: 'adder', message: 'use the calculator tool for 2 + 3', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      parent = { id: res.body.run_id, session_id: res.body.session_id };
      const run = (await s.request('GET', `/v1/runs/${parent.id}`)).body;
      assert.deepEqual(
        run.steps.map((x: { kind: string }) => x.kind),
        ['model', 'tool', 'model'],
      );
      toolCallId = run.steps[1].tool_call_id;
      // Version 2 runs another model: forks run the parent's version unless asked otherwise.
      await s.request('PATCH', '/v1/agents/adder', { body: { model: 'mock/two' } });
    });
    after(() => s.close());

    const fork = (body: Record<string, unknown>, id = parent.id, key?: string) =>
      s.request('POST', `/v1/runs/${id}/fork`, { body, ...(key && { key }) });
    const finished = (id: string) =>
      eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${id}`);
        return ['completed', 'failed'].includes(r.body.status) ? r.body : undefined;
      });

    it('replays a run from step 0 in a new session, at the version it ran, linked to it', async () => {
      const res = await fork({});
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.parent_run_id, parent.id);
      assert.equal(res.body.forked_from_step, 0);
      assert.notEqual(res.body.session_id, parent.session_id);
      const run = await finished(res.body.id);
      assert.equal(run.status, 'completed', JSON.stringify(run.error));
      assert.equal(run.agent_version, 1);
      assert.match(run.steps[0].name, /one/);
      assert.equal(run.output, 'The calculator tool returned: 5');
      const parentMessages = await s.request('GET', `/v1/sessions/${parent.session_id}/messages`);
      assert.equal(parentMessages.body.data.length, 4, 'the parent session is left as it was');
    });

    it('forks from a model step with a tool result replaced', async () => {
      const res = await fork({ step: 2, tool_results: [{ tool_call_id: toolCallId, content: '42' }] });
      assert.equal(res.status, 201, res.text);
      const run = await finished(res.body.id);
      assert.equal(run.output, 'The calculator tool returned: 42');
      assert.deepEqual(
        run.steps.map((x: { kind: string }) => x.kind),
        ['model'],
        'the tool is not called again: its result is carried',
      );
      assert.equal(run.forked_from_step, 2);
    });

    it('forks with an edited message, another version or another model', async () => {
      const edited = await finished((await fork({ message: 'hello there' })).body.id);
      assert.equal(edited.output, 'You said: hello there');
      assert.equal(edited.input, 'hello there');
      const latest = await finished((await fork({ agent_version: 2 })).body.id);
      assert.equal(latest.agent_version, 2);
      assert.match(latest.steps[0].name, /two/);
      const other = await finished((await fork({ model: 'mock/three' })).body.id);
      assert.match(other.steps[0].name, /three/);
    });

    it('refuses forks that do not fit, before anything is written', async () => {
      const before = (await s.request('GET', '/v1/runs?limit=100')).body.data.length;
      const missing = await fork({ step: 99 });
      assert.equal(missing.status, 422, missing.text);
      assert.match(missing.body.error.message, /has no step 99: it recorded 3 \(0 to 2\)/);
      const tool = await fork({ step: 1 });
      assert.equal(tool.status, 422);
      assert.match(tool.body.error.message, /step 1 is a tool call.*the next is step 2/);
      const result = await fork({ step: 2, tool_results: [{ tool_call_id: 'nope', content: 'x' }] });
      assert.equal(result.status, 422);
      assert.match(result.body.error.message, /no result of tool call nope before step 2/);
      // The kept steps answered the parent's message: an edited one starts again at step 0.
      const edited = await fork({ step: 2, message: 'what is 50 * 1.2?' });
      assert.equal(edited.status, 422, edited.text);
      assert.match(edited.body.error.message, /an edited message starts the run again: fork it at step 0/);
      const early = await fork({ step: 0, tool_results: [{ tool_call_id: toolCallId, content: 'x' }] });
      assert.equal(early.status, 422, 'step 0 has no tool results before it');
      assert.equal((await fork({ agent_version: 9 })).status, 404);
      assert.equal((await fork({ model: 'nosuch/nowhere' })).status, 404);
      assert.equal((await fork({}, '01900000-0000-7000-8000-000000000000')).status, 404);
      assert.equal((await fork({ step: -1 })).status, 400);
      assert.equal((await fork({ step: 'two' })).status, 400);
      assert.equal((await fork({ steps: 1 })).status, 400);
      assert.equal((await s.request('POST', '/v1/runs/not-a-uuid/fork', { body: {} })).status, 400);
      assert.equal((await s.request('GET', '/v1/runs?limit=100')).body.data.length, before);
    });

    it('compares two runs side by side', async () => {
      const forked = await finished(
        (await fork({ step: 2, tool_results: [{ tool_call_id: toolCallId, content: '7' }] })).body.id,
      );
      const res = await s.request('GET', `/v1/runs/compare?a=${parent.id}&b=${forked.id}`);
      assert.equal(res.status, 200, res.text);
      const c = res.body;
      assert.equal(c.a.id, parent.id);
      assert.equal(c.b.parent_run_id, parent.id);
      assert.equal(c.a.steps.length, 3);
      assert.equal(c.b.steps.length, 1);
      // Lined up at the fork point: the fork's own step 0 beside the parent's step 2; steps 0 and 1
      // are the parent's on both sides, kept by the fork as recorded.
      assert.equal(c.aligned_at, 2);
      assert.equal(c.steps.length, 3);
      assert.deepEqual(
        c.steps.map((r: { kept: boolean }) => r.kept),
        [true, true, false],
      );
      assert.deepEqual(c.steps[1].b, c.steps[1].a);
      assert.equal(c.steps[1].b.kind, 'tool');
      assert.equal(c.steps[2].a.idx, 2);
      assert.equal(c.steps[2].b.idx, 0);
      assert.equal(c.steps[2].b.kind, 'model');
      const reversed = (await s.request('GET', `/v1/runs/compare?a=${forked.id}&b=${parent.id}`)).body;
      assert.equal(reversed.aligned_at, 2);
      assert.equal(reversed.steps[2].a.idx, 0);
      assert.equal(c.difference.same_output, false);
      assert.equal(c.difference.steps, -2);
      assert.equal(c.difference.total_tokens, c.b.usage.total_tokens - c.a.usage.total_tokens);
      assert.equal(typeof c.a.latency_ms, 'number');
      assert.equal(c.a.output, 'The calculator tool returned: 5');
      assert.equal(c.b.output, 'The calculator tool returned: 7');
      assert.equal((await s.request('GET', `/v1/runs/compare?a=${parent.id}`)).status, 400);
      assert.equal(
        (await s.request('GET', `/v1/runs/compare?a=${parent.id}&b=01900000-0000-7000-8000-000000000000`))
          .status,
        404,
      );
    });

    it("keeps another user's private agent's runs from forks and comparisons", async () => {
      const key = async (owner: string) =>
        (await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } })).body.secret as string;
      const alice = await key('user:alice');
      const bob = await key('user:bob');
      await s.request('POST', '/v1/agents', { key: alice, body: { name: 'secret', visibility: 'private' } });
      const res = await s.request('POST', '/v1/chat', {
        key: alice,
        body: { agent_config_id: 'secret', message: 'hi', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal((await fork({}, res.body.run_id, bob)).status, 404);
      const seen = await s.request('GET', `/v1/runs/compare?a=${parent.id}&b=${res.body.run_id}`, {
        key: bob,
      });
      assert.equal(seen.status, 404);
      assert.equal((await fork({}, res.body.run_id, alice)).status, 201);
    });
  });
}
