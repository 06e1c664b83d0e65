import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { utcDay } from '../helpers/utc-day.ts';

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

for (const store of stores) {
  describe(`POST /v1/chat/completions with the official openai client on ${store}`, () => {
    let s: TestServer;
    let client: OpenAI;
    before(async () => {
      s = await startServer(store, { models: { aliases: { fast: 'mock/default' } } });
      s.app.services.policies.set(
        tenantsFileSchema.parse({ tenants: { default: { models: { deny: ['mock/forbidden*'] } } } }),
      );
      client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    });
    after(() => s.close());

    it('answers a non-streaming completion in OpenAI shape, with Server-Timing', async () => {
      const { data, response } = await client.chat.completions
        .create({ model: 'mock/default', messages: [{ role: 'user', content: 'What is 7 * 6?' }] })
        .withResponse();
      assert.equal(data.object, 'chat.completion');
      assert.equal(data.model, 'mock/default');
      assert.equal(data.choices[0]?.message.content, '42');
      assert.equal(data.choices[0]?.finish_reason, 'stop');
      assert.ok(data.usage && data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
      assert.match(
        response.headers.get('server-timing') ?? '',
        /^gateway;dur=\d+\.\d+, upstream;dur=\d+\.\d+$/,
      );
      assert.ok(response.headers.get('x-request-id'));
    });

    it('resolves aliases', async () => {
      const c = await client.chat.completions.create({
        model: 'fast',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(c.model, 'mock/default');
    });

    it('streams text chunks, then the finish and a usage chunk with include_usage', async () => {
      const stream = await client.chat.completions.create({
        model: 'mock/default',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'stream these several words to me please' }],
      });
      let text = '';
      const finishes: string[] = [];
      let usage: OpenAI.CompletionUsage | undefined | null;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
        if (chunk.usage) usage = chunk.usage;
        if (chunk.choices.length === 0) assert.ok(chunk.usage, 'the choice-less chunk carries usage');
      }
      assert.ok(chunks > 3);
      assert.equal(text, 'You said: stream these several words to me please');
      assert.deepEqual(finishes, ['stop']);
      assert.ok(usage && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
    });

    it('streams raw SSE as OpenAI does: data lines only, [DONE] last', async () => {
      const res = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'mock/default',
          stream: true,
          messages: [{ role: 'user', content: 'a b' }],
        }),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      assert.match(res.headers.get('server-timing') ?? '', /gateway;dur=/);
      const body = await res.text();
      const events = body.split('\n\n').filter(Boolean);
      assert.ok(
        events.every((e) => e.startsWith('data: ')),
        'no event: or id: fields',
      );
      assert.equal(events.at(-1), 'data: [DONE]');
      const first = JSON.parse(events[0]!.slice(6));
      assert.equal(first.choices[0].delta.role, 'assistant');
      assert.equal(first.object, 'chat.completion.chunk');
    });

    it('streams tool calls as index/id/function.arguments deltas the client can assemble', async () => {
      const stream = await client.chat.completions.create({
        model: 'mock/default',
        stream: true,
        tools: [weather],
        messages: [{ role: 'user', content: 'Call get_weather for "Lisbon"' }],
      });
      const calls: Array<{ id?: string; name?: string; args: string }> = [];
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
          calls[tc.index] ??= { args: '' };
          const c = calls[tc.index]!;
          if (tc.id) c.id = tc.id;
          if (tc.function?.name) c.name = tc.function.name;
          c.args += tc.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.name, 'get_weather');
      assert.ok(calls[0]!.id);
      assert.deepEqual(JSON.parse(calls[0]!.args), { city: 'Lisbon' });
      assert.equal(finish, 'tool_calls');

      // The stream helper of the SDK assembles the same thing.
      const runner = client.chat.completions.stream({
        model: 'mock/default',
        tools: [weather],
        messages: [{ role: 'user', content: 'Call get_weather for "Lisbon"' }],
      });
      const final = await runner.finalChatCompletion();
      assert.equal(final.choices[0]?.message.tool_calls?.[0]?.type, 'function');
    });

    it('answers a full tool round trip non-streaming', async () => {
      const first = await client.chat.completions.create({
        model: 'mock/default',
        tools: [weather],
        messages: [{ role: 'user', content: 'use get_weather for "Oslo"' }],
      });
      const call = first.choices[0]?.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      const second = await client.chat.completions.create({
        model: 'mock/default',
        tools: [weather],
        messages: [
          { role: 'user', content: 'use get_weather for "Oslo"' },
          first.choices[0]!.message,
          { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' },
        ],
      });
      assert.equal(second.choices[0]?.message.content, 'The get_weather tool returned: sunny, 21 C');
    });

    it('answers errors in OpenAI shape that the client raises with the right class', async () => {
      await assert.rejects(
        client.chat.completions.create({
          model: 'mock/forbidden-x',
          messages: [{ role: 'user', content: 'x' }],
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.PermissionDeniedError);
          assert.equal(err.status, 403);
          assert.match(err.message, /models\.deny "mock\/forbidden\*"/);
          assert.equal((err.error as { type?: string }).type, 'permission_error');
          return true;
        },
      );
      await assert.rejects(
        client.chat.completions.create({ model: 'ghost/x', messages: [{ role: 'user', content: 'x' }] }),
        (err: unknown) => err instanceof OpenAI.NotFoundError,
      );
      await assert.rejects(
        client.chat.completions.create({ model: 'mock/default', messages: [] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError);
          assert.equal(err.code, 'validation_error');
          assert.equal(err.param, 'messages');
          return true;
        },
      );
      const raw = await s.request('POST', '/v1/chat/completions', {
        body: { model: 'mock/default', messages: [{ role: 'user', content: 'x' }] },
        key: 'agk_wrong_key_000000000000000000',
      });
      assert.equal(raw.status, 401);
      assert.equal(raw.body.error.type, 'authentication_error');
      assert.equal(typeof raw.body.error.message, 'string');
    });

    it('lists the models the tenant may use, and records usage by day, agent and model', async () => {
      const models = await client.models.list();
      const ids = models.data.map((m) => m.id);
      assert.ok(ids.includes('mock/default'));
      assert.ok(ids.includes('fast'));

      const dayBefore = utcDay();
      await client.chat.completions.create(
        { model: 'mock/default', messages: [{ role: 'user', content: '1+1' }] },
        { headers: { 'x-agentry-agent': 'billing-bot' } },
      );
      const dayAfter = utcDay();
      const usage = await s.request('GET', '/v1/usage?agent=billing-bot');
      assert.equal(usage.status, 200, usage.text);
      assert.equal(usage.body.data.length, 1);
      const row = usage.body.data[0];
      assert.equal(row.agent, 'billing-bot');
      assert.equal(row.model, 'mock/default');
      assert.equal(row.requests, 1);
      assert.ok(row.input_tokens > 0 && row.output_tokens > 0);
      // The call's UTC day: the one it started or ended in, should it straddle midnight.
      assert.ok([dayBefore, dayAfter].includes(row.day), row.day);
      const all = await s.request('GET', '/v1/usage');
      assert.ok(
        all.body.data.some((r: { errors: number }) => r.errors > 0),
        'refused calls are recorded too',
      );
      const bad = await s.request('GET', '/v1/usage?from=2024-13-99');
      assert.equal(bad.status, 400);
    });
  });
}
