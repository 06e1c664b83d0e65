import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};

for (const store of stores) {
  describe(`POST /v1/responses with the official openai client on ${store}`, () => {
    let s: TestServer;
    let client: OpenAI;
    before(async () => {
      s = await startServer(store, {
        models: {
          retries: { max: 0 },
          breaker: { failure_threshold: 1 },
          providers: { flaky: { type: 'mock' } },
          mock: { scripts: { down: [{ error: { status: 500, message: 'boom' } }] } },
        },
      });
      client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    });
    after(() => s.close());

    it('creates a whole response: output text, usage, and a stored copy to retrieve', async () => {
      const r = await client.responses.create({ model: 'mock/default', input: 'What is 7 * 6?' });
      assert.equal(r.object, 'response');
      assert.match(r.id, /^resp_[0-9a-f]{48}$/);
      assert.equal(r.status, 'completed');
      assert.equal(r.output_text, '42');
      assert.equal(r.model, 'mock/default');
      assert.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
      assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
      const again = await client.responses.retrieve(r.id);
      assert.deepEqual(again, r);
      const items = await client.responses.inputItems.list(r.id);
      assert.equal(items.data.length, 1);
      const item = items.data[0]!;
      assert.ok(item.type === 'message' && item.role === 'user');
    });

    it('streams the Responses event types, in order, ending with response.completed', async () => {
      const stream = await client.responses.create({
        model: 'mock/default',
        input: 'stream these several words to me please',
        stream: true,
      });
      const types: string[] = [];
      let text = '';
      let seq = -1;
      let completed: OpenAI.Responses.Response | undefined;
      for await (const e of stream) {
        types.push(e.type);
        assert.equal(e.sequence_number, seq + 1);
        seq = e.sequence_number;
        if (e.type === 'response.output_text.delta') text += e.delta;
        if (e.type === 'response.completed') completed = e.response;
      }
      assert.equal(text, 'You said: stream these several words to me please');
      assert.deepEqual(types.slice(0, 4), [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
      ]);
      assert.deepEqual(types.slice(-5), [
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      assert.ok(completed);
      assert.equal(completed.output.length, 1);
      assert.ok(completed.usage && completed.usage.output_tokens > 0);
      // The streamed response was kept as it was answered.
      const kept = await client.responses.retrieve(completed.id);
      assert.equal(kept.status, 'completed');
      assert.deepEqual(kept.output, completed.output);
    });

    it('continues a conversation with previous_response_id (instructions do not carry over)', async () => {
      s.app.services.models.mock.script('recall', [{ content: 'first answer' }]);
      const one = await client.responses.create({
        model: 'mock/recall',
        instructions: 'Be brief.',
        input: 'remember the word kumquat',
      });
      assert.equal(one.output_text, 'first answer');
      const two = await client.responses.create({
        model: 'mock/default',
        previous_response_id: one.id,
        input: 'what did I ask you to remember?',
      });
      assert.equal(two.previous_response_id, one.id);
      // The mock echoes the last user text; the conversation it saw is checked through the usage:
      // a follow-up sees the first turn's question and answer as well.
      const alone = await client.responses.create({
        model: 'mock/default',
        input: 'what did I ask you to remember?',
      });
      assert.ok(two.usage!.input_tokens > alone.usage!.input_tokens);
      const items = await client.responses.inputItems.list(two.id);
      assert.equal(items.data.length, 1, "a response's input items are its own input");
    });

    it('calls function tools and takes function_call_output back, whole and streamed', async () => {
      const call = await client.responses.create({
        model: 'mock/default',
        input: 'use get_weather for "Paris"',
        tools: [weather],
      });
      const fc = call.output.find((o) => o.type === 'function_call');
      assert.ok(fc && fc.type === 'function_call');
      assert.equal(fc.name, 'get_weather');
      assert.deepEqual(JSON.parse(fc.arguments), { city: 'Paris' });
      const answer = await client.responses.create({
        model: 'mock/default',
        previous_response_id: call.id,
        input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'sunny, 21°C' }],
        tools: [weather],
      });
      assert.equal(answer.output_text, 'The get_weather tool returned: sunny, 21°C');

      const stream = await client.responses.create({
        model: 'mock/default',
        input: 'use get_weather for "Oslo"',
        tools: [weather],
        stream: true,
      });
      let args = '';
      let done: OpenAI.Responses.ResponseFunctionToolCall | undefined;
      for await (const e of stream) {
        if (e.type === 'response.function_call_arguments.delta') args += e.delta;
        if (e.type === 'response.output_item.done' && e.item.type === 'function_call') done = e.item;
      }
      assert.deepEqual(JSON.parse(args), { city: 'Oslo' });
      assert.ok(done && done.arguments === args && done.name === 'get_weather');
    });

    it('passes text.format on as structured output and echoes it', async () => {
      s.app.services.models.mock.script('json', [{ content: '{"city":"Paris","temp":21}' }]);
      const format = {
        type: 'json_schema' as const,
        name: 'weather',
        schema: {
          type: 'object',
          properties: { city: { type: 'string' }, temp: { type: 'number' } },
          required: ['city', 'temp'],
          additionalProperties: false,
        },
        strict: true,
      };
      const r = await client.responses.create({ model: 'mock/json', input: 'weather?', text: { format } });
      assert.deepEqual(JSON.parse(r.output_text), { city: 'Paris', temp: 21 });
      assert.deepEqual(r.text?.format, format);
    });

    it('store: false keeps nothing; deleting removes a stored response', async () => {
      const r = await client.responses.create({ model: 'mock/default', input: 'hi', store: false });
      await assert.rejects(client.responses.retrieve(r.id), OpenAI.NotFoundError);
      const kept = await client.responses.create({ model: 'mock/default', input: 'hi' });
      const del = await client.responses.delete(kept.id).asResponse();
      assert.equal(del.status, 200);
      assert.deepEqual(await del.json(), { id: kept.id, object: 'response', deleted: true });
      await assert.rejects(client.responses.retrieve(kept.id), OpenAI.NotFoundError);
      await assert.rejects(
        client.responses.create({ model: 'mock/default', input: 'hi', previous_response_id: kept.id }),
        (err: unknown) => err instanceof OpenAI.NotFoundError && err.param === 'previous_response_id',
      );
    });

    it("keeps one tenant's responses from another", async () => {
      const r = await client.responses.create({ model: 'mock/default', input: 'mine' });
      const t = await s.request('POST', '/v1/tenants', { body: { name: `other-${Date.now()}` } });
      assert.equal(t.status, 201, t.text);
      const other = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: t.body.admin_key.secret, maxRetries: 0 });
      await assert.rejects(other.responses.retrieve(r.id), OpenAI.NotFoundError);
      await assert.rejects(other.responses.delete(r.id), OpenAI.NotFoundError);
    });

    it("refuses what it cannot honour with a 400 in OpenAI's shape, naming the field", async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0]'],
        [
          { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] },
          'input[0].content[0]',
        ],
        [{ input: 'x', conversation: 'conv_1' }, 'conversation'],
        [{ input: 'x', temperature: 7 }, 'temperature'],
      ];
      for (const [extra, param] of cases) {
        const err = await client.responses
          .create({ model: 'mock/default', ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        assert.ok(err instanceof OpenAI.BadRequestError, `${param}: ${err}`);
        assert.equal(err.param, param);
        assert.equal((err.error as { type?: string }).type, 'invalid_request_error');
      }
      const res = await fetch(`${s.url}/v1/responses`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { type: string } };
      assert.equal(body.error.type, 'authentication_error');
    });

    it('applies the tenant policy, rate limits (429 with Retry-After) and the breaker (503)', async () => {
      s.app.services.policies.set(
        tenantsFileSchema.parse({ tenants: { default: { models: { deny: ['mock/forbidden*'] } } } }),
      );
      await assert.rejects(
        client.responses.create({ model: 'mock/forbidden', input: 'hi' }),
        OpenAI.PermissionDeniedError,
      );
      s.app.services.policies.set(
        tenantsFileSchema.parse({ tenants: { default: { rate_limits: { requests_per_minute: 1 } } } }),
      );
      // One call may pass within the minute; the next one is refused.
      await client.responses.create({ model: 'mock/default', input: 'hi' }).catch(() => {});
      const limited = await client.responses
        .create({ model: 'mock/default', input: 'hi', stream: true })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(limited instanceof OpenAI.RateLimitError, String(limited));
      assert.ok(Number(limited.headers?.get('retry-after')) >= 1);
      s.app.services.policies.set(tenantsFileSchema.parse({ tenants: {} }));

      await assert.rejects(
        client.responses.create({ model: 'flaky/down', input: 'hi' }),
        OpenAI.InternalServerError,
      );
      const open = await client.responses.create({ model: 'flaky/down', input: 'hi' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(open instanceof OpenAI.APIError && open.status === 503, String(open));
      assert.ok(Number(open.headers?.get('retry-after')) >= 1);
    });
  });
}
