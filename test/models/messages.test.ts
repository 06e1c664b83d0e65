import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

for (const store of stores) {
  describe(`POST /v1/messages with the official @anthropic-ai/sdk client on ${store}`, () => {
    let s: TestServer;
    let client: Anthropic;
    before(async () => {
      s = await startServer(store, {
        models: {
          retries: { max: 0 },
          breaker: { failure_threshold: 1 },
          providers: { flaky: { type: 'mock' } },
          mock: { scripts: { down: [{ error: { status: 500, message: 'boom' } }] } },
        },
      });
      client = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
    });
    after(() => s.close());

    it('answers a message with system, text content and usage', async () => {
      const m = await client.messages.create({
        model: 'mock/default',
        max_tokens: 100,
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'What is 7 * 6?' }],
      });
      assert.equal(m.type, 'message');
      assert.equal(m.role, 'assistant');
      assert.match(m.id, /^msg_/);
      assert.deepEqual(m.content, [{ type: 'text', text: '42' }]);
      assert.equal(m.stop_reason, 'end_turn');
      assert.equal(m.model, 'mock/default');
      assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
    });

    it("streams Anthropic's event types in order and the SDK assembles the message", async () => {
      const stream = client.messages.stream({
        model: 'mock/default',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'stream these several words to me please' }],
      });
      const types: string[] = [];
      let text = '';
      for await (const e of stream) {
        types.push(e.type);
        if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
      }
      const final = await stream.finalMessage();
      assert.equal(text, 'You said: stream these several words to me please');
      assert.equal(final.content.length, 1);
      assert.ok(final.content[0]?.type === 'text' && final.content[0].text === text);
      assert.equal(types[0], 'message_start');
      assert.equal(types[1], 'content_block_start');
      assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
      assert.equal(final.stop_reason, 'end_turn');
      assert.ok(final.usage.output_tokens > 0);
    });

    it('calls tools and takes tool_result back, whole and streamed', async () => {
      const call = await client.messages.create({
        model: 'mock/default',
        max_tokens: 100,
        tools: [weather],
        messages: [{ role: 'user', content: 'use get_weather for "Paris"' }],
      });
      assert.equal(call.stop_reason, 'tool_use');
      const use = call.content.find((b) => b.type === 'tool_use');
      assert.ok(use && use.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      assert.deepEqual(use.input, { city: 'Paris' });
      const answer = await client.messages.create({
        model: 'mock/default',
        max_tokens: 100,
        tools: [weather],
        messages: [
          { role: 'user', content: 'use get_weather for "Paris"' },
          { role: 'assistant', content: call.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
        ],
      });
      assert.deepEqual(answer.content, [{ type: 'text', text: 'The get_weather tool returned: sunny' }]);

      const stream = client.messages.stream({
        model: 'mock/default',
        max_tokens: 100,
        tools: [weather],
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: 'weather in "Oslo"' }],
      });
      const final = await stream.finalMessage();
      const streamed = final.content.find((b) => b.type === 'tool_use');
      assert.ok(streamed && streamed.type === 'tool_use');
      assert.deepEqual(streamed.input, { city: 'Oslo' });
      assert.equal(final.stop_reason, 'tool_use');
    });

    it('counts tokens as the gateway estimates them', async () => {
      const counted = await client.messages.countTokens({
        model: 'mock/default',
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'What is 7 * 6?' }],
      });
      const m = await client.messages.create({
        model: 'mock/default',
        max_tokens: 100,
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'What is 7 * 6?' }],
      });
      // The mock reports the same estimate as its usage.
      assert.equal(counted.input_tokens, m.usage.input_tokens);
      await assert.rejects(
        client.messages.countTokens({ model: 'nosuch/nomodel', messages: [{ role: 'user', content: 'x' }] }),
        Anthropic.NotFoundError,
      );
    });

    it("answers errors in Anthropic's shape; 429 and 503 carry Retry-After", async () => {
      const bad = await client.messages
        .create({
          model: 'mock/default',
          max_tokens: 10,
          messages: [
            { role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] },
          ],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(bad instanceof Anthropic.BadRequestError, String(bad));
      assert.deepEqual(Object.keys(bad.error as object).sort(), ['error', 'request_id', 'type']);
      assert.equal((bad.error as { error: { type: string } }).error.type, 'invalid_request_error');
      assert.match(bad.message, /messages\.0\.content\.0: image sources of type file are not supported/);

      const unauth = new Anthropic({ baseURL: s.url, apiKey: 'agk_nope', maxRetries: 0 });
      await assert.rejects(
        unauth.messages.create({
          model: 'mock/default',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        }),
        Anthropic.AuthenticationError,
      );

      s.app.services.policies.set(
        tenantsFileSchema.parse({ tenants: { default: { rate_limits: { requests_per_minute: 1 } } } }),
      );
      const ask = {
        model: 'mock/default',
        max_tokens: 5,
        messages: [{ role: 'user' as const, content: 'x' }],
      };
      // The first call may pass or be refused within the minute: only the next one is checked.
      await client.messages.create(ask).catch(() => {});
      const limited = await client.messages.create(ask).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(limited instanceof Anthropic.RateLimitError, String(limited));
      assert.ok(Number(limited.headers?.get('retry-after')) >= 1);
      assert.equal((limited.error as { error: { type: string } }).error.type, 'rate_limit_error');
      s.app.services.policies.set(tenantsFileSchema.parse({ tenants: {} }));

      const down = { ...ask, model: 'flaky/down' };
      await assert.rejects(client.messages.create(down), Anthropic.InternalServerError);
      const open = await client.messages.create({ ...down, stream: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(open instanceof Anthropic.InternalServerError && open.status === 503, String(open));
      assert.ok(Number(open.headers?.get('retry-after')) >= 1);
      assert.equal((open.error as { error: { type: string } }).error.type, 'overloaded_error');
    });
  });
}
