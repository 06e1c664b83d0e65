import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { generateText, stepCountIs, tool } from 'ai';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** The caller's tools on `agent/<name>` models at the Chat Completions door (docs/interop.md). */

const weather: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const report: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'report',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, celsius: { type: 'number' } },
      required: ['city', 'celsius'],
      additionalProperties: false,
    },
  },
};

for (const store of stores) {
  describe(`the caller's tools on agent models (chat completions) on ${store}`, () => {
    let s: TestServer;
    let openai: OpenAI;
    before(async () => {
      s = await startServer(store);
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'helper', model: 'mock/default', tools: ['calculator'] },
      });
      assert.equal(made.status, 201, made.text);
      openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    });
    after(() => s.close());

    const runOf = async (id: string) => {
      const run = await s.request('GET', `/v1/runs/${id}`);
      assert.equal(run.status, 200, run.text);
      return run.body;
    };

    it("a call of the caller's tool comes back as tool_calls, and its result resumes the same run", async () => {
      const messages: ChatCompletionMessageParam[] = [
        { role: 'user', content: "use the get_weather tool for 'Paris'" },
      ];
      const { data: first, response } = await openai.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather] })
        .withResponse();
      const runId = response.headers.get('x-agentry-run-id');
      assert.ok(runId);
      const choice = first.choices[0]!;
      assert.equal(choice.finish_reason, 'tool_calls');
      const call = choice.message.tool_calls![0]!;
      assert.equal(call.type, 'function');
      assert.equal(call.type === 'function' && call.function.name, 'get_weather');
      assert.deepEqual(call.type === 'function' && JSON.parse(call.function.arguments), { city: 'Paris' });
      const waiting = await runOf(runId);
      assert.equal(waiting.status, 'input_required');
      assert.equal(waiting.model_calls, 1);
      const approve = await s.request('POST', `/v1/runs/${runId}/approve`);
      assert.equal(approve.status, 409, 'nothing to approve: the caller answers it');

      messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' });
      const { data: second, response: again } = await openai.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather] })
        .withResponse();
      assert.equal(again.headers.get('x-agentry-run-id'), runId, 'one run across the round trip');
      assert.equal(second.choices[0]!.finish_reason, 'stop');
      assert.equal(second.choices[0]!.message.content, 'The get_weather tool returned: sunny, 21 C');

      const run = await runOf(runId);
      assert.equal(run.status, 'completed');
      assert.equal(run.model_calls, 2);
      const kinds = run.steps.map((st: { kind: string; name: string }) =>
        st.kind === 'tool' ? st.name : st.kind,
      );
      assert.deepEqual(
        kinds,
        ['model', 'get_weather', 'model'],
        "the caller's tool is a step of the one run",
      );
      const tool = run.steps[1];
      assert.equal(tool.output, 'sunny, 21 C');
      // Each stretch reports its own tokens; the run's total is their sum (billed once).
      assert.equal(
        run.usage.total_tokens,
        first.usage!.total_tokens + second.usage!.total_tokens,
        'the two answers add up to the run',
      );
    });

    it('streamed: the tool call arrives as deltas with finish_reason tool_calls, and the result resumes', async () => {
      const messages: ChatCompletionMessageParam[] = [
        { role: 'user', content: "use the get_weather tool for 'Oslo'" },
      ];
      const { data: stream, response } = await openai.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather], stream: true })
        .withResponse();
      const runId = response.headers.get('x-agentry-run-id');
      assert.ok(runId, 'a stream carries the run id in its headers too');
      let id = '';
      let name = '';
      let args = '';
      let finish: string | null = null;
      for await (const c of stream) {
        for (const t of c.choices[0]?.delta.tool_calls ?? []) {
          id += t.id ?? '';
          name += t.function?.name ?? '';
          args += t.function?.arguments ?? '';
        }
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(finish, 'tool_calls');
      assert.equal(name, 'get_weather');
      assert.deepEqual(JSON.parse(args), { city: 'Oslo' });

      messages.push(
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id, type: 'function', function: { name, arguments: args } }],
        },
        { role: 'tool', tool_call_id: id, content: 'snow' },
      );
      const { data: again, response: second } = await openai.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather], stream: true })
        .withResponse();
      assert.equal(second.headers.get('x-agentry-run-id'), runId);
      let text = '';
      for await (const c of again) text += c.choices[0]?.delta.content ?? '';
      assert.equal(text, 'The get_weather tool returned: snow');
    });

    it('responses: a function_call item, resumed by previous_response_id + function_call_output or by the full input', async () => {
      const fn = {
        type: 'function' as const,
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        strict: false,
      };
      const input = "use the get_weather tool for 'Bern'";
      const { data: one, response } = await openai.responses
        .create({ model: 'agent/helper', input, tools: [fn] })
        .withResponse();
      const runId = response.headers.get('x-agentry-run-id');
      assert.ok(runId);
      const call = one.output.find((o) => o.type === 'function_call');
      assert.ok(call && call.type === 'function_call');
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Bern' });
      const { data: two, response: again } = await openai.responses
        .create({
          model: 'agent/helper',
          previous_response_id: one.id,
          input: [{ type: 'function_call_output', call_id: call.call_id, output: 'fog' }],
          tools: [fn],
        })
        .withResponse();
      assert.equal(again.headers.get('x-agentry-run-id'), runId, 'one run across the round trip');
      assert.equal(two.output_text, 'The get_weather tool returned: fog');

      // Stateless: the whole conversation again, ending with the call and its output.
      const { data: three, response: third } = await openai.responses
        .create({ model: 'agent/helper', input, tools: [fn], store: false })
        .withResponse();
      const asked = three.output.find((o) => o.type === 'function_call');
      assert.ok(asked && asked.type === 'function_call');
      const { data: four, response: fourth } = await openai.responses
        .create({
          model: 'agent/helper',
          input: [
            { role: 'user', content: input },
            asked,
            { type: 'function_call_output', call_id: asked.call_id, output: 'hail' },
          ],
          tools: [fn],
          store: false,
        })
        .withResponse();
      assert.equal(fourth.headers.get('x-agentry-run-id'), third.headers.get('x-agentry-run-id'));
      assert.equal(four.output_text, 'The get_weather tool returned: hail');

      // Streamed: the function_call item is the stream's output, and the follow-up resumes.
      const stream = await openai.responses.create({
        model: 'agent/helper',
        input,
        tools: [fn],
        stream: true,
      });
      let done: OpenAI.Responses.Response | undefined;
      for await (const e of stream) if (e.type === 'response.completed') done = e.response;
      const streamed = done?.output.find((o) => o.type === 'function_call');
      assert.ok(streamed && streamed.type === 'function_call' && streamed.name === 'get_weather');
      const five = await openai.responses.create({
        model: 'agent/helper',
        previous_response_id: done!.id,
        input: [{ type: 'function_call_output', call_id: streamed.call_id, output: 'mist' }],
        tools: [fn],
      });
      assert.equal(five.output_text, 'The get_weather tool returned: mist');
    });

    it('agent/<name>@<version> pins a version in every door, and GET /v1/models/agent%2F<name> answers', async () => {
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'pinned', model: 'mock/default', system_prompt: 'first' },
      });
      assert.equal(made.status, 201, made.text);
      const changed = await s.request('PATCH', `/v1/agents/${made.body.id}`, {
        body: { system_prompt: 'second' },
      });
      assert.equal(changed.status, 200, changed.text);
      const versionOf = async (r: Response) =>
        (await runOf(r.headers.get('x-agentry-run-id')!)).agent_version;
      const chat = await openai.chat.completions
        .create({ model: 'agent/pinned@1', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      assert.equal(await versionOf(chat.response), 1);
      const latest = await openai.chat.completions
        .create({ model: 'agent/pinned', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      assert.equal(await versionOf(latest.response), 2);
      const responses = await openai.responses
        .create({ model: 'agent/pinned@1', input: 'hi' })
        .withResponse();
      assert.equal(await versionOf(responses.response), 1);
      const anthropic = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
      const messages = await anthropic.messages
        .create({ model: 'agent/pinned@1', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      assert.equal(await versionOf(messages.response), 1);

      const listed = [];
      for await (const m of openai.models.list()) listed.push(m.id);
      assert.ok(listed.includes('agent/pinned') && listed.includes('mock/default'), listed.join(', '));
      const model = await openai.models.retrieve('agent/pinned');
      assert.equal(model.id, 'agent/pinned');
      assert.equal((await openai.models.retrieve('agent/pinned@1')).id, 'agent/pinned@1');
      await assert.rejects(openai.models.retrieve('agent/pinned@9'), OpenAI.NotFoundError);
      await assert.rejects(openai.models.retrieve('agent/nobody'), OpenAI.NotFoundError);
      const raw = await s.request('GET', '/v1/models/agent%2Fpinned');
      assert.equal(raw.status, 200, raw.text);
      assert.equal(raw.body.id, 'agent/pinned');
    });

    it('the AI SDK: generateText with a tool and stopWhen runs its loop through one run', async () => {
      const provider = createOpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey });
      const cities: string[] = [];
      const result = await generateText({
        model: provider.chat('agent/helper'),
        prompt: "use the get_weather tool for 'Paris'",
        tools: {
          get_weather: tool({
            description: 'The weather in a city',
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => {
              cities.push(city);
              return `cloudy in ${city}`;
            },
          }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      assert.deepEqual(cities, ['Paris']);
      assert.equal(result.text, 'The get_weather tool returned: cloudy in Paris');
      assert.equal(result.steps.length, 2);
      const ids = result.steps.map((st) => st.response.headers?.['x-agentry-run-id']);
      assert.ok(ids[0]);
      assert.equal(ids[1], ids[0], 'both steps are one run');
    });

    it("the agent's own tools still run inside the turn", async () => {
      const { data, response } = await openai.chat.completions
        .create({
          model: 'agent/helper',
          messages: [{ role: 'user', content: 'use the calculator tool for 2 + 3' }],
          tools: [weather],
        })
        .withResponse();
      assert.equal(data.choices[0]!.finish_reason, 'stop');
      assert.match(data.choices[0]!.message.content ?? '', /^The calculator tool returned: .*5/);
      assert.equal((await runOf(response.headers.get('x-agentry-run-id')!)).status, 'completed');
    });

    it('a single forced tool is the answer format, and the answer comes back as that call', async () => {
      const whole = await openai.chat.completions.create({
        model: 'agent/helper',
        messages: [{ role: 'user', content: 'report the weather in Rome' }],
        tools: [weather, report],
        tool_choice: { type: 'function', function: { name: 'report' } },
      });
      assert.equal(whole.choices[0]!.finish_reason, 'tool_calls');
      const call = whole.choices[0]!.message.tool_calls![0]!;
      assert.ok(call.type === 'function');
      assert.equal(call.function.name, 'report');
      const value = JSON.parse(call.function.arguments);
      assert.equal(typeof value.city, 'string');
      assert.equal(typeof value.celsius, 'number');

      const stream = await openai.chat.completions.create({
        model: 'agent/helper',
        messages: [{ role: 'user', content: 'report the weather in Rome' }],
        tools: [report],
        tool_choice: { type: 'function', function: { name: 'report' } },
        stream: true,
      });
      let args = '';
      let text = '';
      let finish: string | null = null;
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? '';
        for (const t of c.choices[0]?.delta.tool_calls ?? []) args += t.function?.arguments ?? '';
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(text, '');
      assert.equal(finish, 'tool_calls');
      assert.deepEqual(Object.keys(JSON.parse(args)).sort(), ['celsius', 'city']);
    });

    it("a tool named like one of the agent's is a 400 naming it; bad tool messages are 4xx", async () => {
      const clash = await openai.chat.completions
        .create({
          model: 'agent/helper',
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ type: 'function', function: { name: 'calculator', parameters: { type: 'object' } } }],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(clash instanceof OpenAI.BadRequestError && /calculator/.test(clash.message), String(clash));

      const unknownCall = await openai.chat.completions
        .create({
          model: 'agent/helper',
          messages: [
            { role: 'user', content: 'x' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'call_nope', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
              ],
            },
            { role: 'tool', tool_call_id: 'call_nope', content: 'x' },
          ],
          tools: [weather],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(
        unknownCall instanceof OpenAI.ConflictError && /call_nope/.test(unknownCall.message),
        String(unknownCall),
      );

      const orphan = await openai.chat.completions
        .create({
          model: 'agent/helper',
          messages: [
            { role: 'user', content: 'x' },
            { role: 'tool', tool_call_id: 'call_x', content: 'x' },
          ],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(orphan instanceof OpenAI.BadRequestError, String(orphan));

      const missingForced = await openai.chat.completions
        .create({
          model: 'agent/helper',
          messages: [{ role: 'user', content: 'x' }],
          tools: [weather],
          tool_choice: { type: 'function', function: { name: 'report' } },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(missingForced instanceof OpenAI.BadRequestError && /report/.test(missingForced.message));
    });

    it("a result for a call in another user's private session is a 409, as for a call no run waits on", async () => {
      const key = async (owner: string) => {
        const r = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } });
        assert.equal(r.status, 201, r.text);
        return new OpenAI({ baseURL: `${s.url}/v1`, apiKey: r.body.secret, maxRetries: 0 });
      };
      const alice = await key('user:alice');
      const bob = await key('user:bob');
      const messages: ChatCompletionMessageParam[] = [
        { role: 'user', content: "use the get_weather tool for 'Cairo'" },
      ];
      const { data, response } = await alice.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather] })
        .withResponse();
      const sessionId = response.headers.get('x-agentry-session-id')!;
      const hidden = await s.request('PATCH', `/v1/sessions/${sessionId}`, {
        body: { visibility: 'private' },
      });
      assert.equal(hidden.status, 200, hidden.text);
      const call = data.choices[0]!.message.tool_calls![0]!;
      messages.push(data.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'hot' });
      const refused = await bob.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(refused instanceof OpenAI.ConflictError, String(refused));
      assert.equal((await runOf(response.headers.get('x-agentry-run-id')!)).status, 'input_required');
      const own = await alice.chat.completions.create({ model: 'agent/helper', messages, tools: [weather] });
      assert.equal(own.choices[0]!.message.content, 'The get_weather tool returned: hot');
    });

    it('a wait nobody answers expires (runtime.caller_tool_wait_seconds), and late results are refused', async () => {
      const short = await startServer(store, { runtime: { caller_tool_wait_seconds: 0.5 } });
      after(() => short.close());
      await short.request('POST', '/v1/agents', { body: { name: 'helper', model: 'mock/default' } });
      const client = new OpenAI({ baseURL: `${short.url}/v1`, apiKey: short.adminKey, maxRetries: 0 });
      const messages: ChatCompletionMessageParam[] = [
        { role: 'user', content: "use the get_weather tool for 'Lima'" },
      ];
      const { data, response } = await client.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather] })
        .withResponse();
      const runId = response.headers.get('x-agentry-run-id')!;
      const run = await eventually(async () => {
        const r = (await short.request('GET', `/v1/runs/${runId}`)).body;
        return r.status === 'input_required' ? undefined : r;
      });
      assert.equal(run.status, 'cancelled');
      assert.equal(run.error.code, 'expired');
      assert.equal(run.model_calls, 1, 'nothing more ran');

      const call = data.choices[0]!.message.tool_calls![0]!;
      messages.push(data.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'late' });
      const late = await client.chat.completions
        .create({ model: 'agent/helper', messages, tools: [weather] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(late instanceof OpenAI.ConflictError, String(late));
    });
  });
}

for (const store of stores) {
  describe(`the caller's tools on agent models (messages) on ${store}`, () => {
    let s: TestServer;
    let anthropic: Anthropic;
    before(async () => {
      s = await startServer(store);
      const made = await s.request('POST', '/v1/agents', {
        body: { name: 'helper', model: 'mock/default', tools: ['calculator'] },
      });
      assert.equal(made.status, 201, made.text);
      anthropic = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
    });
    after(() => s.close());

    const tools: Anthropic.Tool[] = [
      {
        name: 'get_weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];

    it('tool_use comes back, and a tool_result block resumes the same run, whole and streamed', async () => {
      for (const stream of [false, true]) {
        const messages: Anthropic.MessageParam[] = [
          { role: 'user', content: "use the get_weather tool for 'Kyiv'" },
        ];
        const ask = () =>
          stream
            ? anthropic.messages
                .stream({ model: 'agent/helper', max_tokens: 200, messages, tools })
                .withResponse()
            : anthropic.messages
                .create({ model: 'agent/helper', max_tokens: 200, messages, tools })
                .withResponse();
        const one = await ask();
        const first = 'finalMessage' in one.data ? await one.data.finalMessage() : one.data;
        const runId = one.response.headers.get('x-agentry-run-id');
        assert.ok(runId, `the run id header (stream: ${stream}): ${[...one.response.headers.keys()]}`);
        assert.equal(first.stop_reason, 'tool_use');
        const use = first.content.find((b) => b.type === 'tool_use');
        assert.ok(use && use.type === 'tool_use');
        assert.equal(use.name, 'get_weather');
        assert.deepEqual(use.input, { city: 'Kyiv' });

        messages.push(
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'rain' }] },
        );
        const two = await ask();
        const second = 'finalMessage' in two.data ? await two.data.finalMessage() : two.data;
        assert.equal(two.response.headers.get('x-agentry-run-id'), runId, 'one run across the round trip');
        assert.equal(second.stop_reason, 'end_turn');
        assert.deepEqual(
          second.content.map((b) => (b.type === 'text' ? b.text : b.type)),
          ['The get_weather tool returned: rain'],
        );
      }
    });

    it("a tool_result for a call no run waits on is a 409 in Anthropic's shape", async () => {
      const err = await anthropic.messages
        .create({
          model: 'agent/helper',
          max_tokens: 50,
          tools,
          messages: [
            { role: 'user', content: 'x' },
            {
              role: 'assistant',
              content: [{ type: 'tool_use', id: 'toolu_nope', name: 'get_weather', input: {} }],
            },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }] },
          ],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(
        err instanceof Anthropic.APIError && err.status === 409 && /toolu_nope/.test(err.message),
        String(err),
      );
    });

    it('tool_choice {type: "tool"} makes the answer that tool call', async () => {
      const m = await anthropic.messages.create({
        model: 'agent/helper',
        max_tokens: 200,
        messages: [{ role: 'user', content: 'the weather in Rome' }],
        tools,
        tool_choice: { type: 'tool', name: 'get_weather' },
      });
      assert.equal(m.stop_reason, 'tool_use');
      const use = m.content.find((b) => b.type === 'tool_use');
      assert.ok(use && use.type === 'tool_use' && use.name === 'get_weather');
      assert.equal(typeof (use.input as { city: unknown }).city, 'string');
    });
  });
}
