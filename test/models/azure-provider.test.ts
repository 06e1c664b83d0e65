import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { testConfig } from '../../src/config/config.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream } from './helpers/fake-upstream.ts';
import { azure } from './helpers/vendor-answers.ts';

const weather = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

/**
 * Azure OpenAI from config alone, against a fake resource on loopback that replays Azure's recorded
 * answers: the deployments API (the deployment in the path, `api-version` in the query) and the v1
 * API (OpenAI's paths), both with the key in `api-key`, never as a bearer token.
 */
describe('azure provider against a fake Azure OpenAI resource', () => {
  let s: TestServer;
  let client: OpenAI;
  const resource = new FakeUpstream();
  const saved = process.env.AZURE_OPENAI_API_KEY;
  before(async () => {
    await resource.start();
    process.env.AZURE_OPENAI_API_KEY = 'az-key-1';
    process.env.TEST_AZ_V1_KEY = 'az-key-v1';
    process.env.TEST_AZ_CLIENT = 'agentry-tests';
    delete process.env.TEST_AZ_UNSET_KEY;
    s = await startServer('pglite', {
      models: {
        providers: {
          az: {
            type: 'azure',
            base_url: resource.url,
            api_version: '2024-10-21',
            headers_env: { 'x-ms-useragent': 'TEST_AZ_CLIENT' },
          },
          azv1: { type: 'azure', base_url: `${resource.url}/openai/v1`, api_key_env: 'TEST_AZ_V1_KEY' },
          aznokey: {
            type: 'azure',
            base_url: `${resource.url}/openai/v1`,
            api_key_env: 'TEST_AZ_UNSET_KEY',
          },
        },
        retries: { max: 3, base_ms: 1, max_ms: 2000 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await resource.close();
    if (saved === undefined) delete process.env.AZURE_OPENAI_API_KEY;
    else process.env.AZURE_OPENAI_API_KEY = saved;
  });

  it('deployments API: the deployment in the path, api-version in the query, the key in api-key', async () => {
    resource.answer({ status: 200, body: azure.completion });
    const before = resource.seen.length;
    const c = await client.chat.completions.create({
      model: 'az/gpt-4o-prod',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 30,
    });
    assert.equal(c.choices[0]?.message.content, 'Hello from Azure.');
    assert.equal(c.model, 'az/gpt-4o-prod');
    assert.equal(c.usage?.total_tokens, 14);
    assert.equal(c.system_fingerprint, 'fp_04751d0b65');
    const seen = resource.seen[before]!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21');
    assert.equal(seen.headers['api-key'], 'az-key-1');
    assert.equal(seen.headers.authorization, undefined, 'no bearer token');
    assert.equal(seen.headers['x-ms-useragent'], 'agentry-tests', 'the extra header, from its variable');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.deepEqual(seen.body, {
      model: 'gpt-4o-prod',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 30,
    });
  });

  it('deployments API: streams a tool call past the first chunk with no choices, with its usage', async () => {
    resource.answer({ sse: azure.toolStream });
    const before = resource.seen.length;
    const runner = client.chat.completions.stream({
      model: 'az/gpt-4o-prod',
      tools: [weather],
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'weather in Oslo?' }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.id, 'call_az1');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(call.function.arguments, '{"city":"Oslo"}');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(final.usage, { prompt_tokens: 61, completion_tokens: 16, total_tokens: 77 });
    const seen = resource.seen[before]!;
    assert.equal(seen.path, '/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21');
    assert.equal(seen.headers.accept, 'text/event-stream');
    assert.equal(seen.body.stream, true);
    assert.deepEqual(seen.body.stream_options, { include_usage: true });
    assert.deepEqual(seen.body.tools, [weather]);
  });

  it('deployments API: embeddings go to the deployment, in input order', async () => {
    resource.answer({ status: 200, body: azure.embeddings });
    const before = resource.seen.length;
    const e = await client.embeddings.create({ model: 'az/embed-small', input: ['one', 'two'] });
    assert.deepEqual(
      e.data.map((d) => d.embedding),
      [
        [0.25, 0.5, 0.75],
        [0.5, -0.25, 0.125],
      ],
    );
    assert.equal(e.usage.prompt_tokens, 4);
    const seen = resource.seen[before]!;
    assert.equal(seen.path, '/openai/deployments/embed-small/embeddings?api-version=2024-10-21');
    assert.equal(seen.headers['api-key'], 'az-key-1');
    assert.deepEqual(seen.body.input, ['one', 'two']);
  });

  it('v1 API: OpenAI paths with no api-version, the deployment as the model, the key in api-key', async () => {
    resource.answer({ status: 200, body: azure.completion });
    const before = resource.seen.length;
    const c = await client.chat.completions.create({
      model: 'azv1/gpt-4o-prod',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(c.choices[0]?.message.content, 'Hello from Azure.');
    const seen = resource.seen[before]!;
    assert.equal(seen.path, '/openai/v1/chat/completions');
    assert.equal(seen.headers['api-key'], 'az-key-v1');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.body.model, 'gpt-4o-prod');

    resource.answer({ status: 200, body: azure.embeddings });
    await client.embeddings.create({ model: 'azv1/embed-small', input: ['one', 'two'] });
    assert.equal(resource.seen.at(-1)!.path, '/openai/v1/embeddings');
  });

  it("a 429 with only Azure's retry-after-ms comes back with that wait as Retry-After", async () => {
    resource.answer(azure.rateLimited);
    const before = resource.seen.length;
    const err = await client.chat.completions
      .create({ model: 'az/gpt-4o-prod', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.headers.get('retry-after'), '30');
    assert.match(err.message, /exceeded token rate limit/);
    assert.equal(resource.seen.length - before, 1, 'a wait past the retry cap is the caller’s to make');
  });

  it('a short retry-after-ms is waited out and the call retried', async () => {
    resource.answer(
      { ...azure.rateLimited, headers: { 'retry-after-ms': '5' } },
      { status: 200, body: azure.completion },
    );
    const before = resource.seen.length;
    const c = await client.chat.completions.create({
      model: 'az/gpt-4o-prod',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(c.choices[0]?.message.content, 'Hello from Azure.');
    assert.equal(resource.seen.length - before, 2);
  });

  it("a content-filter 400 is the caller's, not retried, with Azure's message", async () => {
    resource.answer(azure.filtered);
    const before = resource.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'az/gpt-4o-prod', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error.message, /content management policy/);
    assert.equal(resource.seen.length - before, 1);
  });

  it('a model name that is not a deployment name never reaches the resource', async () => {
    const before = resource.seen.length;
    for (const model of ['az/../../v1/files', 'az/gpt?api-version=x', 'az/.hidden']) {
      const res = await s.request('POST', '/v1/chat/completions', {
        body: { model, messages: [{ role: 'user', content: 'x' }] },
      });
      assert.equal(res.status, 400, `${model}: ${res.text}`);
      assert.match(res.body.error.message, /not an Azure deployment name/);
    }
    assert.equal(resource.seen.length, before);
  });

  it('a resource whose key variable is unset is a 404 naming it, never dialled, and off in /health', async () => {
    const before = resource.seen.length;
    const err = await client.chat.completions
      .create({ model: 'aznokey/gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.NotFoundError, String(err));
    assert.match(err.message, /provider "aznokey" is not configured: set TEST_AZ_UNSET_KEY/);
    assert.doesNotMatch(err.message, /base_url/);
    assert.equal(resource.seen.length, before);
    const health = await s.request('GET', '/health');
    assert.equal(health.body.components['model:aznokey'].status, 'off');
    assert.equal(health.body.components['model:az'].detail.type, 'azure');
  });

  it('config refuses an azure provider without its endpoint, or the deployments API without api_version', () => {
    const refused = (provider: object) =>
      assert.throws(() => testConfig({ models: { providers: { x: provider as never } } }));
    refused({ type: 'azure' });
    refused({ type: 'azure', base_url: 'https://res.openai.azure.com' });
    refused({ type: 'openai', base_url: 'https://api.example.com/v1', api_version: '2024-10-21' });
    assert.throws(
      () =>
        testConfig({
          models: { providers: { x: { type: 'azure', base_url: 'https://r.openai.azure.com' } } },
        }),
      /api_version.*deployments API needs an api_version/s,
    );
    const v1 = testConfig({
      models: { providers: { x: { type: 'azure', base_url: 'https://r.openai.azure.com/openai/v1' } } },
    });
    assert.equal(v1.models.providers.x?.api_key_env, 'AZURE_OPENAI_API_KEY', 'the conventional variable');
  });
});
