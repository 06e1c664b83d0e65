import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { waitForStatus } from '../tasks/helpers.ts';
import { createAgent, sse } from './helpers.ts';

/** What a chat leaves in the store, to check that a refused request wrote nothing. */
async function counts(s: TestServer) {
  const [row] = await s.app.db.query<{
    sessions: number;
    runs: number;
    messages: number;
    events: number;
  }>(
    `select (select count(*)::int from sessions) as sessions, (select count(*)::int from runs) as runs,
            (select count(*)::int from messages) as messages, (select count(*)::int from events) as events`,
  );
  return row!;
}

for (const store of stores) {
  describe(`chat on ${store}`, () => {
    let s: TestServer;
    let dir: string;
    let calc: { id: string; name: string };

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-chat-'));
      s = await startServer(store, { runtime: { workspaces_dir: dir } });
      calc = await createAgent(s, {
        name: 'calc',
        tools: ['calculator', 'current_time'],
        system_prompt: 'Be exact.',
      });
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const chatUrl = (id: string) => `${s.url}/v1/agents/${id}/chat`;

    it('streams session_start, system, text, result, session_end then [DONE], every event with an increasing id', async () => {
      const read = await sse(chatUrl(calc.id), { key: s.adminKey, body: { message: 'hello there, agent' } });
      assert.equal(read.status, 200);
      assert.ok(read.done, 'the stream ends with data: [DONE]');
      const types = read.events.map((e) => e.event);
      assert.deepEqual(types.slice(0, 2), ['session_start', 'system']);
      assert.deepEqual(types.slice(-2), ['result', 'session_end']);
      assert.ok(types.slice(2, -2).every((t) => t === 'text') && types.length > 4, types.join(','));
      const ids = read.events.map((e) => Number(e.id));
      assert.ok(
        ids.every((id, i) => Number.isInteger(id) && id > 0 && (i === 0 || id > ids[i - 1]!)),
        ids.join(','),
      );
      const start = read.events[0]!.data;
      assert.match(start.session_id, /^[0-9a-f-]{36}$/);
      assert.match(start.run_id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(
        { agent: read.events[1]!.data.agent, model: read.events[1]!.data.model },
        { agent: 'calc', model: 'mock/default' },
      );
      const text = read.events
        .filter((e) => e.event === 'text')
        .map((e) => e.data.delta)
        .join('');
      assert.equal(text, 'You said: hello there, agent');
      const result = read.events.at(-2)!.data;
      assert.equal(result.text, text);
      assert.ok(result.usage.total_tokens > 0);
      assert.equal(typeof result.duration_ms, 'number');
      assert.equal(read.events.at(-1)!.data.status, 'completed');
    });

    it('shows tool calls and their results in the stream, in order, and records them as steps', async () => {
      const read = await sse(chatUrl(calc.id), {
        key: s.adminKey,
        body: { message: 'use the calculator tool on (2 + 3) * 4 ^ 2' },
      });
      const types = read.events.map((e) => e.event);
      assert.deepEqual(types.slice(0, 4), ['session_start', 'system', 'tool_call', 'tool_result']);
      const callEvent = read.events[2]!.data;
      const resultEvent = read.events[3]!.data;
      assert.equal(callEvent.name, 'calculator');
      assert.deepEqual(callEvent.arguments, { expression: '(2 + 3) * 4 ^ 2' });
      assert.equal(resultEvent.id, callEvent.id);
      assert.equal(resultEvent.output, '80');
      const text = read.events
        .filter((e) => e.event === 'text')
        .map((e) => e.data.delta)
        .join('');
      assert.equal(text, 'The calculator tool returned: 80');

      const run = await s.request('GET', `/v1/runs/${read.events[0]!.data.run_id}`);
      assert.equal(run.status, 200);
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.model_calls, 2);
      assert.deepEqual(
        run.body.steps.map((st: { kind: string; name: string }) => `${st.kind}:${st.name}`),
        ['model:mock/default', 'tool:calculator', 'model:mock/default'],
      );
      const tool = run.body.steps[1];
      assert.deepEqual(tool.input, { expression: '(2 + 3) * 4 ^ 2' });
      assert.equal(tool.output, '80');
      // The result's event is committed with its step, never before it: a takeover that runs an
      // unrecorded call again cannot show its result twice.
      const [together] = await s.app.db.query<{ same: boolean }>(
        `select (select xmin::text from events where stream_id = $1 and type = 'tool_result') =
                (select xmin::text from run_steps where run_id = $1 and kind = 'tool') as same`,
        [run.body.id],
      );
      assert.equal(together!.same, true);
      assert.ok(run.body.steps[0].usage.total_tokens > 0);
      assert.ok(run.body.steps.every((st: { duration_ms: number }) => st.duration_ms >= 0));
    });

    it('answers stream:false with status, session_id, run_id and the response; the session keeps the history', async () => {
      const first = await s.request('POST', `/v1/agents/${calc.id}/chat`, {
        body: { message: 'use the calculator tool: 6 * 7', stream: false },
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.status, 'success');
      assert.equal(first.body.response.text, 'The calculator tool returned: 42');
      assert.deepEqual(first.body.response.tool_calls, [
        {
          id: first.body.response.tool_calls[0].id,
          name: 'calculator',
          arguments: { expression: '6 * 7' },
          output: '42',
        },
      ]);
      assert.ok(first.body.response.usage.prompt_tokens > 0);

      const second = await s.request('POST', '/v1/chat', {
        body: {
          agent_config_id: calc.id,
          session_id: first.body.session_id,
          message: 'what is 10 / 4?',
          stream: false,
        },
      });
      assert.equal(second.status, 200, second.text);
      assert.equal(second.body.session_id, first.body.session_id);
      assert.equal(second.body.response.text, '2.5');

      const messages = await s.request('GET', `/v1/sessions/${first.body.session_id}/messages`);
      assert.deepEqual(
        messages.body.data.map((m: { seq: number; role: string }) => `${m.seq}:${m.role}`),
        ['0:user', '1:assistant', '2:tool', '3:assistant', '4:user', '5:assistant'],
      );
      assert.equal(messages.body.data[1].tool_calls[0].function.name, 'calculator');
      assert.equal(messages.body.data[2].tool_call_id, messages.body.data[1].tool_calls[0].id);

      const list = await s.request('GET', `/v1/sessions?agent_id=${calc.id}`);
      assert.equal(list.status, 200);
      const listed = list.body.data.find((x: { id: string }) => x.id === first.body.session_id);
      assert.equal(listed.message_count, 6);

      const del = await s.request('DELETE', `/v1/sessions/${first.body.session_id}`);
      assert.equal(del.status, 204);
      assert.equal((await s.request('GET', `/v1/sessions/${first.body.session_id}/messages`)).status, 404);
      assert.equal((await s.request('GET', `/v1/runs/${first.body.run_id}`)).status, 404);
    });

    it('renders context into the system prompt and lists unused context to the model', async () => {
      const agent = await createAgent(s, { name: 'ctx', system_prompt: 'You help {{user}}.' });
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'hi', stream: false, context: { user: 'Ada', plan: 'pro' } },
      });
      assert.equal(res.status, 200, res.text);
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      assert.deepEqual(run.body.context, { user: 'Ada', plan: 'pro' });
      // The model saw two messages: the rendered system prompt and the user's.
      assert.equal(run.body.steps[0].input.messages, 2);
    });

    it('ends a run that never reaches an answer after max_steps model calls, with a clear error', async () => {
      const loop = await createAgent(s, { name: 'looper', model: 'mock/looper', tools: ['calculator'] });
      const turn = { tool_calls: [{ name: 'calculator', arguments: { expression: '1+1' } }] };
      s.app.services.models.mock.script(
        'looper',
        Array.from({ length: 5 }, () => turn),
      );
      const res = await s.request('POST', `/v1/agents/${loop.id}/chat`, {
        body: { message: 'loop forever', stream: false, max_steps: 3 },
      });
      assert.equal(res.status, 422, res.text);
      assert.match(res.body.error.message, /max_steps \(3\)/);
      assert.equal(res.body.error.details.code, 'max_steps');
      const run = await s.request('GET', `/v1/runs/${res.body.error.details.run_id}`);
      assert.equal(run.body.status, 'failed');
      assert.equal(run.body.error.code, 'max_steps');
      assert.equal(run.body.model_calls, 3);
      // Two rounds of tools ran; the third call's tools did not (nothing could read their results).
      assert.equal(run.body.steps.filter((st: { kind: string }) => st.kind === 'tool').length, 2);
      const history = await s.request('GET', `/v1/sessions/${run.body.session_id}/messages`);
      const last = history.body.data.at(-1);
      assert.equal(last.role, 'tool', 'no assistant tool call is left without its result');
      // The same failure, streamed: an error event, then session_end with status failed.
      s.app.services.models.mock.script(
        'looper',
        Array.from({ length: 2 }, () => turn),
      );
      const read = await sse(chatUrl(loop.id), { key: s.adminKey, body: { message: 'again', max_steps: 1 } });
      assert.deepEqual(
        read.events.slice(-2).map((e) => e.event),
        ['error', 'session_end'],
      );
      assert.equal(read.events.at(-2)!.data.code, 'max_steps');
      assert.equal(read.events.at(-1)!.data.status, 'failed');
      assert.ok(read.done);
      while (s.app.services.models.mock.pending('looper') > 0) {
        await s.request('POST', `/v1/agents/${loop.id}/chat`, {
          body: { message: 'drain', stream: false, max_steps: 1 },
        });
      }
    });

    it('refuses bad input with a 4xx and creates nothing', async () => {
      const before = await counts(s);
      const session = (
        await s.request('POST', `/v1/agents/${calc.id}/chat`, { body: { message: 'keep me', stream: false } })
      ).body.session_id as string;
      const baseline = await counts(s);
      assert.equal(baseline.sessions, before.sessions + 1);
      const bad: Array<[string, unknown, number]> = [
        [`/v1/agents/${calc.id}/chat`, { message: [{ role: 'user', content: 'hi' }] }, 400],
        [`/v1/agents/${calc.id}/chat`, { message: '' }, 400],
        [`/v1/agents/${calc.id}/chat`, {}, 400],
        [`/v1/agents/${calc.id}/chat`, { message: 'hi', surprise: true }, 400],
        [`/v1/agents/${calc.id}/chat`, { message: 'hi', multitask: 'shout' }, 400],
        [`/v1/agents/${calc.id}/chat`, { message: 'hi', session_id: 'nope' }, 400],
        [`/v1/agents/${calc.id}/chat`, { message: 'hi', max_steps: 0 }, 400],
        [
          `/v1/agents/${calc.id}/chat`,
          { message: 'hi', session_id: '01900000-0000-7000-8000-000000000000' },
          404,
        ],
        ['/v1/agents/01900000-0000-7000-8000-000000000000/chat', { message: 'hi' }, 404],
        ['/v1/chat', { message: 'hi' }, 400],
        ['/v1/chat', { agent_config_id: '01900000-0000-7000-8000-000000000000', message: 'hi' }, 404],
      ];
      for (const [url, body, status] of bad) {
        const res = await s.request('POST', url, { body });
        assert.equal(res.status, status, `${url} ${JSON.stringify(body)}: ${res.text}`);
        assert.ok(res.body.error.code && res.body.error.message && res.body.request_id, res.text);
      }
      const other = await createAgent(s, { name: 'other' });
      const wrongAgent = await s.request('POST', `/v1/agents/${other.id}/chat`, {
        body: { message: 'hi', session_id: session },
      });
      assert.equal(wrongAgent.status, 409, wrongAgent.text);
      const pool = await createAgent(s, { name: 'pooled', env: 'pool' });
      const notHere = await s.request('POST', `/v1/agents/${pool.id}/chat`, { body: { message: 'hi' } });
      // A pool agent runs its deployed bundle; before the first deployment there is nothing to run.
      assert.equal(notHere.status, 422);
      assert.match(notHere.body.error.message, /no deployment yet/);
      assert.deepEqual(await counts(s), baseline);
    });

    it('asks for the write scope to chat and the read scope to look; other tenants see 404', async () => {
      const reader = await createKey(s, ['read']);
      const refused = await s.request('POST', `/v1/agents/${calc.id}/chat`, {
        key: reader.secret,
        body: { message: 'hi' },
      });
      assert.equal(refused.status, 403);
      const mine = await s.request('POST', `/v1/agents/${calc.id}/chat`, {
        body: { message: 'mine', stream: false },
      });
      assert.equal(
        (await s.request('GET', `/v1/runs/${mine.body.run_id}`, { key: reader.secret })).status,
        200,
      );
      assert.equal((await s.request('GET', '/v1/sessions', { key: reader.secret })).status, 200);
      assert.equal(
        (await s.request('DELETE', `/v1/sessions/${mine.body.session_id}`, { key: reader.secret })).status,
        403,
      );

      const stranger = await createTenant(s, 'stranger');
      const key = stranger.adminKey;
      for (const [method, url, body] of [
        ['POST', `/v1/agents/${calc.id}/chat`, { message: 'hi' }],
        ['GET', `/v1/runs/${mine.body.run_id}`, undefined],
        ['GET', `/v1/runs/${mine.body.run_id}/stream`, undefined],
        ['POST', `/v1/runs/${mine.body.run_id}/approve`, undefined],
        ['POST', `/v1/runs/${mine.body.run_id}/cancel`, undefined],
        ['GET', `/v1/sessions/${mine.body.session_id}`, undefined],
        ['GET', `/v1/sessions/${mine.body.session_id}/messages`, undefined],
        ['DELETE', `/v1/sessions/${mine.body.session_id}`, undefined],
      ] as const) {
        const res = await s.request(method, url, { key, body });
        assert.equal(res.status, 404, `${method} ${url}: ${res.text}`);
      }
      const theirs = await s.request('GET', '/v1/sessions', { key });
      assert.equal(theirs.body.total, 0);
      // A stranger's own agent cannot continue this tenant's session either.
      const agent = (await s.request('POST', '/v1/agents', { key, body: { name: 'theirs' } })).body;
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        key,
        body: { message: 'hi', session_id: mine.body.session_id },
      });
      assert.equal(res.status, 404);
    });

    it('runs tasks through the loop: the task result names its run, whose steps hold the tool calls', async () => {
      const worker = await createAgent(s, {
        name: 'task-calc',
        tools: ['calculator'],
        task_types: [{ name: 'sum', prompt_template: 'use the calculator tool: {{payload.expr}}' }],
      });
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: worker.id, task_type: 'sum', title: 'nine squared', payload: { expr: '9 * 9' } },
      });
      assert.equal(res.status, 202, res.text);
      const task = await waitForStatus(s, res.body.id, ['completed', 'failed']);
      assert.equal(task.status, 'completed', task.error_message);
      assert.equal(task.result.answer, 'The calculator tool returned: 81');
      const run = await s.request('GET', `/v1/runs/${task.result.run_id}`);
      assert.equal(run.body.task_id, task.id);
      assert.equal(run.body.steps[1].name, 'calculator');
    });
  });
}
