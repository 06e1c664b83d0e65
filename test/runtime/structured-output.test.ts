import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { sse } from './helpers.ts';

const city = {
  type: 'json_schema',
  json_schema: {
    name: 'city',
    schema: {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: 'integer', minimum: 1 } },
      required: ['city', 'population'],
      additionalProperties: false,
    },
  },
} as const;

for (const store of stores) {
  describe(`agents' structured output on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        models: {
          mock: {
            scripts: {
              // Free text first, then JSON that fits: the loop asks again once.
              second: [{ content: 'Paris, I think' }, { content: '{"city":"Paris","population":2100000}' }],
              // Never JSON that fits: the run fails.
              never: [{ content: 'Paris' }, { content: '{"city":"Paris"}' }],
            },
          },
        },
      });
    });
    after(() => s.close());

    async function agent(body: Record<string, unknown>) {
      const made = await s.request('POST', '/v1/agents', { body });
      assert.equal(made.status, 201, made.text);
      return made.body as { id: string; response_format: unknown };
    }
    const chat = (id: string, body: Record<string, unknown>) =>
      s.request('POST', `/v1/agents/${id}/chat`, { body: { stream: false, ...body } });

    it('every answer of an agent with a JSON Schema is JSON valid against it (mock model)', async () => {
      const a = await agent({ name: 'cities', model: 'mock/default', response_format: city });
      assert.deepEqual(a.response_format, city, 'the agent keeps its format');
      const got = await chat(a.id, { message: 'the largest city of France' });
      assert.equal(got.status, 200, got.text);
      const value = JSON.parse(got.body.response.text);
      assert.equal(typeof value.city, 'string');
      assert.ok(Number.isInteger(value.population) && value.population >= 1, got.body.response.text);
      // Streamed: the checked answer arrives as text, once.
      const read = await sse(`${s.url}/v1/agents/${a.id}/chat`, {
        key: s.adminKey,
        body: { message: 'and of Spain' },
      });
      const text = read.events
        .filter((e) => e.event === 'text')
        .map((e) => e.data.delta)
        .join('');
      assert.ok(JSON.parse(text).city, text);
    });

    it('a chat request asks for its own format in place of the agent’s; JSON mode answers an object', async () => {
      const a = await agent({ name: 'plain', model: 'mock/default' });
      const free = await chat(a.id, { message: 'hello' });
      assert.throws(() => JSON.parse(free.body.response.text), 'no format: free text');
      const json = await chat(a.id, { message: 'hello', response_format: { type: 'json_object' } });
      assert.equal(json.status, 200, json.text);
      const value = JSON.parse(json.body.response.text);
      assert.ok(value && typeof value === 'object' && !Array.isArray(value));
      const typed = await chat(a.id, { message: 'hello', response_format: city });
      assert.ok(JSON.parse(typed.body.response.text).population >= 1);
    });

    it('an invalid answer is asked for again once; only the valid one is kept in the history', async () => {
      const a = await agent({ name: 'second-try', model: 'mock/second', response_format: city });
      const read = await sse(`${s.url}/v1/agents/${a.id}/chat`, {
        key: s.adminKey,
        body: { message: 'France?' },
      });
      const invalid = read.events.find((e) => e.event === 'output_invalid');
      assert.ok(invalid, 'the stream says the first answer was refused');
      assert.match(invalid.data.error, /not valid JSON/);
      const text = read.events
        .filter((e) => e.event === 'text')
        .map((e) => e.data.delta)
        .join('');
      assert.deepEqual(
        JSON.parse(text),
        { city: 'Paris', population: 2100000 },
        'the refused text is not shown',
      );
      const runId = read.events[0]!.data.run_id;
      const run = await s.request('GET', `/v1/runs/${runId}`);
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.model_calls, 2);
      const sessionId = read.events[0]!.data.session_id;
      const history = await s.request('GET', `/v1/sessions/${sessionId}/messages`);
      const said = history.body.data
        .filter((m: { role: string }) => m.role === 'assistant')
        .map((m: { content: string }) => m.content);
      assert.deepEqual(said, ['{"city":"Paris","population":2100000}']);
    });

    it('an answer still invalid after the retry fails the run with invalid_output (422)', async () => {
      const a = await agent({ name: 'never-valid', model: 'mock/never', response_format: city });
      const got = await chat(a.id, { message: 'France?', max_steps: 1 });
      assert.equal(got.status, 422, got.text);
      assert.equal(got.body.error.details.code, 'invalid_output');
      assert.match(got.body.error.message, /does not match the schema city: .*population/);
      const run = await s.request('GET', `/v1/runs/${got.body.error.details.run_id}`);
      assert.equal(run.body.status, 'failed');
      assert.equal(run.body.error.code, 'invalid_output');
      assert.equal(run.body.model_calls, 2, 'one retry, even past max_steps');
    });

    it('refuses a format whose schema cannot be compiled, and clears one with null', async () => {
      const bad = await s.request('POST', '/v1/agents', {
        body: {
          name: 'bad-format',
          response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 12 } } },
        },
      });
      assert.equal(bad.status, 400, bad.text);
      assert.match(bad.text, /response_format/);
      const a = await agent({ name: 'clearable', model: 'mock/default', response_format: city });
      const cleared = await s.request('PATCH', `/v1/agents/${a.id}`, { body: { response_format: null } });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.body.response_format, null);
      const free = await chat(a.id, { message: 'hello' });
      assert.throws(() => JSON.parse(free.body.response.text));
    });

    it('agent/<name> as a model: the OpenAI client’s parse gets a schema-valid answer', async () => {
      await agent({ name: 'parser', model: 'mock/default' });
      const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
      const Place = z.object({ city: z.string(), population: z.number().int().min(1) });
      const c = await openai.chat.completions.parse({
        model: 'agent/parser',
        messages: [{ role: 'user', content: 'the largest city of Italy' }],
        response_format: zodResponseFormat(Place, 'place'),
      });
      const parsed = c.choices[0]?.message.parsed;
      assert.ok(parsed);
      assert.deepEqual(Place.parse(parsed), parsed);
    });
  });
}
