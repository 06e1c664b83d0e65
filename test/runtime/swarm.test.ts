import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fitContext, TRUNCATION_MARKER } from '../../src/runtime/teams/swarm.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { waitForStatus } from '../tasks/helpers.ts';
import { createAgent, sse } from './helpers.ts';

const transfer = (to: string) => ({
  tool_calls: [{ name: `transfer_to_${to}`, arguments: { reason: 'r' } }],
});

describe('swarm context budget', () => {
  it('keeps the latest messages, never splits a tool call from its result, and marks the cut', () => {
    const long = 'word '.repeat(400);
    const messages = [
      { role: 'user' as const, content: long },
      {
        role: 'assistant' as const,
        content: null,
        tool_calls: [{ id: 'c1', type: 'function' as const, function: { name: 'x', arguments: '{}' } }],
      },
      { role: 'tool' as const, content: long, tool_call_id: 'c1' },
      { role: 'assistant' as const, content: 'short answer' },
      { role: 'user' as const, content: 'and now?' },
    ];
    const all = fitContext(messages, 100_000);
    assert.equal(all.dropped, 0);
    assert.deepEqual(all.messages, messages);
    const cut = fitContext(messages, 450);
    assert.equal(cut.messages[0]!.content, TRUNCATION_MARKER);
    assert.ok(cut.dropped > 0);
    assert.notEqual(cut.messages[1]!.role, 'tool', 'a tool result never starts the kept part');
    assert.deepEqual(cut.messages.at(-1), messages.at(-1));
  });
});

for (const store of stores) {
  describe(`swarm runs on ${store}`, () => {
    let s: TestServer;
    let dir: string;
    let triage: { id: string };
    let billing: { id: string };
    let spec: { id: string };
    const mock = () => s.app.services.models.mock;

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-swarm-'));
      s = await startServer(store, { runtime: { workspaces_dir: dir } });
      triage = await createAgent(s, {
        name: 'triage',
        model: 'mock/sw-triage',
        description: 'routes questions',
        handoffs: ['billing', 'ghost'],
      });
      billing = await createAgent(s, { name: 'billing', model: 'mock/sw-billing', handoffs: ['triage'] });
      const res = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'support',
          kind: 'swarm',
          members: [triage.id, billing.id],
          config: { max_handoffs: 3 },
        },
      });
      assert.equal(res.status, 201, res.text);
      spec = res.body;
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const runUrl = () => `${s.url}/v1/multi-agents/${spec.id}/run`;

    it('hands the conversation over: a handoff event, then the target speaks, and the stream names each agent', async () => {
      mock().script('sw-triage', [transfer('billing')]);
      mock().script('sw-billing', [{ content: 'Billing here: your refund is on its way.' }]);
      const read = await sse(runUrl(), { key: s.adminKey, body: { message: 'I was charged twice' } });
      assert.equal(read.status, 200, JSON.stringify(read.error));
      assert.ok(read.done);
      const types = read.events.map((e) => e.event);
      assert.deepEqual(types.slice(0, 2), ['session_start', 'system']);
      assert.deepEqual(types.slice(-2), ['result', 'session_end']);
      const call = read.events.find((e) => e.event === 'tool_call')!;
      assert.equal(call.data.name, 'transfer_to_billing');
      assert.equal(call.data.agent, 'triage');
      const handoff = read.events.find((e) => e.event === 'handoff')!;
      assert.equal(handoff.data.from, 'triage');
      assert.equal(handoff.data.to, 'billing');
      assert.ok(types.indexOf('handoff') > types.indexOf('tool_result'));
      const texts = read.events.filter((e) => e.event === 'text');
      assert.ok(texts.length > 0 && texts.every((e) => e.data.agent === 'billing'));
      const result = read.events.at(-2)!.data;
      assert.equal(result.text, 'Billing here: your refund is on its way.');
      assert.equal(result.agent, 'billing');
      assert.equal(result.handoffs, 1);
      // One run, persisted like any other: both agents' model calls are its steps.
      const runId = read.events[0]!.data.run_id;
      const run = await s.request('GET', `/v1/runs/${runId}`);
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.agent_id, triage.id);
      assert.deepEqual(
        run.body.steps.map((st: { kind: string; name: string }) => `${st.kind}:${st.name}`),
        ['model:mock/sw-triage', 'tool:transfer_to_billing', 'model:mock/sw-billing'],
      );
      const history = await s.request('GET', `/v1/sessions/${read.events[0]!.data.session_id}/messages`);
      assert.deepEqual(
        history.body.data.map((m: { role: string }) => m.role),
        ['user', 'assistant', 'tool', 'assistant'],
      );
    });

    it('answers a handoff to an unknown target with a tool result that says why, and carries on', async () => {
      mock().script('sw-triage', [transfer('ghost'), { content: 'I will answer myself.' }]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.id}/run`, {
        body: { message: 'who handles ghosts?', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'I will answer myself.');
      const ghost = res.body.response.tool_calls.find(
        (c: { name: string }) => c.name === 'transfer_to_ghost',
      );
      assert.match(ghost.error, /unknown handoff target ghost: not a member of this swarm/);
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      assert.equal(run.body.status, 'completed');
    });

    it('ends a handoff cycle beyond max_handoffs with a clear error, streamed and not', async () => {
      mock().script('sw-triage', [transfer('billing'), transfer('billing')]);
      mock().script('sw-billing', [transfer('triage'), transfer('triage')]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.id}/run`, {
        body: { message: 'ping pong', stream: false },
      });
      assert.equal(res.status, 422, res.text);
      assert.match(
        res.body.error.message,
        /max_handoffs \(3\): triage -> billing -> triage -> billing -> triage/,
      );
      const run = await s.request('GET', `/v1/runs/${res.body.error.details.run_id}`);
      assert.equal(run.body.status, 'failed');
      assert.equal(run.body.error.code, 'max_handoffs');
      assert.equal(mock().pending('sw-triage') + mock().pending('sw-billing'), 0);

      mock().script('sw-triage', [transfer('billing'), transfer('billing')]);
      mock().script('sw-billing', [transfer('triage'), transfer('triage')]);
      const read = await sse(runUrl(), { key: s.adminKey, body: { message: 'ping pong again' } });
      assert.ok(read.done);
      assert.equal(read.events.filter((e) => e.event === 'handoff').length, 3);
      const error = read.events.find((e) => e.event === 'error')!;
      assert.equal(error.data.code, 'max_handoffs');
      assert.deepEqual(read.events.at(-1)!.data.status, 'failed');
    });

    it('cuts the context handed over to the budget, and says so in the handoff event', async () => {
      const tight = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'support-tight',
          kind: 'swarm',
          members: [triage.id, billing.id],
          config: { context_budget_tokens: 30 },
        },
      });
      assert.equal(tight.status, 201, tight.text);
      mock().script('sw-triage', [transfer('billing')]);
      mock().script('sw-billing', [{ content: 'short' }]);
      const read = await sse(`${s.url}/v1/multi-agents/${tight.body.id}/run`, {
        key: s.adminKey,
        body: { message: `a long complaint: ${'details '.repeat(200)}` },
      });
      const handoff = read.events.find((e) => e.event === 'handoff')!;
      assert.equal(handoff.data.truncated, true);
      assert.ok(handoff.data.dropped_messages >= 1);
      assert.equal(read.events.at(-1)!.data.status, 'completed');
    });

    it('starts at entry_agent_override, and refuses an override that is not a member', async () => {
      mock().script('sw-billing', [{ content: 'billing first' }]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.id}/run`, {
        body: { message: 'straight to billing', stream: false, entry_agent_override: billing.id },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'billing first');
      const outsider = await createAgent(s, { name: 'outsider' });
      const bad = await s.request('POST', `/v1/multi-agents/${spec.id}/run`, {
        body: { message: 'x', stream: false, entry_agent_override: outsider.id },
      });
      assert.equal(bad.status, 422, bad.text);
      const missing = await s.request('POST', `/v1/multi-agents/${outsider.id}/run`, {
        body: { message: 'x', stream: false },
      });
      assert.equal(missing.status, 404, missing.text);
    });

    it('runs the spec of an agent with env multi_agent, from chat and from a task', async () => {
      const front = await createAgent(s, {
        name: 'support-front',
        env: 'multi_agent',
        multi_agent_id: spec.id,
        task_types: [{ name: 'ask' }],
      });
      mock().script('sw-triage', [transfer('billing')]);
      mock().script('sw-billing', [{ content: 'handled by the team' }]);
      const res = await s.request('POST', `/v1/agents/${front.id}/chat`, {
        body: { message: 'team please', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'handled by the team');

      mock().script('sw-triage', [{ content: 'task done by triage' }]);
      const created = await s.request('POST', '/v1/tasks', {
        body: { agent_id: front.id, task_type: 'ask', title: 'a task for the team' },
      });
      assert.equal(created.status, 202, created.text);
      const task = await waitForStatus(s, created.body.id, ['completed', 'failed']);
      assert.equal(task.status, 'completed', task.error_message);
      assert.equal(task.result.answer, 'task done by triage');
      const run = await s.request('GET', `/v1/runs/${task.result.run_id}`);
      assert.equal(run.body.agent_id, front.id);
      assert.equal(run.body.steps[0].name, 'mock/sw-triage');
    });
  });
}
