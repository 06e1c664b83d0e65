import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream } from './helpers/fake-upstream.ts';

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The official `openai` client against the gateway's OpenAI routes (mock provider, loopback). */
describe('the official openai client against the gateway', () => {
  let s: TestServer;
  let client: OpenAI;
  const broken = new FakeUpstream();
  before(async () => {
    await broken.start();
    broken.answer({ status: 500, body: { error: { message: 'down' } } });
    s = await startServer('pglite', {
      models: {
        providers: { broken: { type: 'openai', base_url: `${broken.url}/v1` } },
        retries: { max: 0, base_ms: 1, max_ms: 10 },
        breaker: { failure_threshold: 1, reset_ms: 60_000 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await broken.close();
  });

  it('chat: a whole answer and a stream', async () => {
    const c = await client.chat.completions.create({
      model: 'mock/default',
      messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    });
    assert.equal(c.choices[0]?.message.content, '4');
    const stream = await client.chat.completions.create({
      model: 'mock/default',
      stream: true,
      messages: [{ role: 'user', content: 'say these words' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'You said: say these words');
  });

  it('tools: the model calls one, then reads its result', async () => {
    const first = await client.chat.completions.create({
      model: 'mock/default',
      tools: [weather],
      messages: [{ role: 'user', content: 'use get_weather for "Bern"' }],
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Bern' });
    const second = await client.chat.completions.create({
      model: 'mock/default',
      tools: [weather],
      messages: [
        { role: 'user', content: 'use get_weather for "Bern"' },
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: call.id, content: 'sunny' },
      ],
    });
    assert.equal(second.choices[0]?.message.content, 'The get_weather tool returned: sunny');
  });

  it('chat.completions.parse: a schema-valid answer, parsed by the client', async () => {
    const Event = z.object({
      name: z.string(),
      date: z.string(),
      attendees: z.array(z.string()),
      size: z.number().int().min(3),
      kind: z.enum(['party', 'meeting']),
      place: z.object({ city: z.string() }).nullable(),
    });
    const c = await client.chat.completions.parse({
      model: 'mock/default',
      messages: [{ role: 'user', content: 'Alice and Bob meet on Friday' }],
      response_format: zodResponseFormat(Event, 'event'),
    });
    const parsed = c.choices[0]?.message.parsed;
    assert.ok(parsed);
    assert.deepEqual(Event.parse(parsed), parsed);
    assert.equal(parsed.size, 3);
    assert.match(parsed.name, /Alice and Bob meet on Friday/);
  });

  it('JSON mode answers one JSON object', async () => {
    const c = await client.chat.completions.create({
      model: 'mock/default',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.deepEqual(JSON.parse(c.choices[0]!.message.content!), { answer: 'You said: hello' });
  });

  it('embeddings: floats by default in the client (base64 on the wire), dimensions honoured, usage', async () => {
    const res = await client.embeddings.create({
      model: 'mock/embed',
      input: ['the cat sat', 'the cat sat', 'stock markets fell'],
      dimensions: 64,
    });
    assert.equal(res.data.length, 3);
    assert.equal(res.model, 'mock/embed');
    const [a, b, c] = res.data.map((d) => d.embedding);
    assert.equal(a!.length, 64);
    assert.deepEqual(a, b);
    const dot = (x: number[], y: number[]) => x.reduce((n, v, i) => n + v * y[i]!, 0);
    assert.ok(Math.abs(dot(a!, a!) - 1) < 1e-5);
    assert.ok(dot(a!, c!) < dot(a!, b!));
    assert.ok(res.usage.prompt_tokens > 0 && res.usage.total_tokens === res.usage.prompt_tokens);
    const float = await client.embeddings.create({
      model: 'mock/embed',
      input: 'the cat sat',
      encoding_format: 'float',
      dimensions: 64,
    });
    assert.deepEqual(
      float.data[0]?.embedding.map((v) => Math.fround(v)),
      a,
    );
  });

  it('embeddings: more inputs than OpenAI allows is a 400 that names the bound and the count', async () => {
    const err = await client.embeddings
      .create({ model: 'mock/embed', input: Array.from({ length: 2049 }, (_, i) => `text ${i}`) })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.param, 'input');
    assert.match(err.message, /input: at most 2048 items, got 2049/);
  });

  it('embeddings are recorded as usage', async () => {
    await s.app.services.models.flush();
    const res = await s.request('GET', '/v1/usage');
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /mock\/embed/);
  });

  it('models.retrieve takes ids with a slash; an unknown one is NotFoundError', async () => {
    const m = await client.models.retrieve('mock/default');
    assert.equal(m.id, 'mock/default');
    assert.equal(m.owned_by, 'mock');
    const err = await client.models.retrieve('nowhere/model').catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.NotFoundError);
  });

  it('errors map to the client’s classes: 400 with param, 401, 429 and 503 with Retry-After', async () => {
    const bad = await client.chat.completions
      .create({ model: 'mock/default', messages: [], temperature: 9 })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof OpenAI.BadRequestError);
    assert.equal((bad.error as { type?: string }).type, 'invalid_request_error');
    assert.ok(bad.param);

    const anon = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    const unauth = await anon.embeddings.create({ model: 'mock/embed', input: 'x' }).catch((e: unknown) => e);
    assert.ok(unauth instanceof OpenAI.AuthenticationError);
    assert.equal((unauth.error as { type?: string }).type, 'authentication_error');

    s.app.services.models.mock.script('limited', [{ error: { status: 429, message: 'slow down' } }]);
    const limited = await client.chat.completions
      .create({ model: 'mock/limited', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(limited instanceof OpenAI.RateLimitError);
    assert.ok(Number(limited.headers?.get('retry-after')) >= 1);
    assert.equal((limited.error as { type?: string }).type, 'rate_limit_error');

    // The endpoint fails once (502), which opens its breaker: the next call is a 503.
    const down = await client.chat.completions
      .create({ model: 'broken/m', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(down instanceof OpenAI.InternalServerError);
    assert.equal(down.status, 502);
    const open = await client.embeddings.create({ model: 'broken/m', input: 'x' }).catch((e: unknown) => e);
    assert.ok(open instanceof OpenAI.InternalServerError);
    assert.equal(open.status, 503);
    assert.ok(Number(open.headers?.get('retry-after')) >= 1);
    assert.equal((open.error as { type?: string }).type, 'service_unavailable_error');
  });

  it('embeddings count against the tenant budget: once it is spent, a RateLimitError naming it', async () => {
    const { models, policies } = s.app.services;
    const { db } = s.app;
    const budget = (tokens: number) =>
      policies.set(
        tenantsFileSchema.parse({ tenants: { default: { budgets: { tokens_per_day: tokens } } } }),
      );
    budget(1_000_000);
    await models.flush();
    await db.query('delete from limit_counters');
    await client.embeddings.create({ model: 'mock/embed', input: 'word '.repeat(100) });
    await models.flush();
    const [counter] = await db.query<{ used: number }>(
      `select used from limit_counters where key like 'b:%:t:tokens:____-__-__'`,
    );
    assert.ok(counter && counter.used > 0, 'the embedding was counted against the budget');
    budget(counter.used);
    const err = await client.embeddings.create({ model: 'mock/embed', input: 'x' }).catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.match(err.message, /budget tokens_per_day exceeded/);
  });
});
