import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { testConfig } from '../../src/config/config.ts';
import { AppError } from '../../src/errors.ts';
import { createProviders } from '../../src/models/providers/registry.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream } from './helpers/fake-upstream.ts';
import { groq, llamacpp, ollama, openrouter } from './helpers/vendor-answers.ts';

const weather = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

/** Anthropic's answer to a plain message. */
const anthropicMessage = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [{ type: 'text', text: 'Hello through the gateway.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 6, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
};

/** The key variables the presets read by default, set or unset here and restored after. */
const keyVars = [
  'OPENROUTER_API_KEY',
  'GROQ_API_KEY',
  'MISTRAL_API_KEY',
  'TEST_OR_REFERER',
  'TEST_OR_TITLE',
  'TEST_GW_ANTH_KEY',
  'TEST_GW_AUTH',
  'TEST_GW_UNSET',
];

/**
 * Presets of OpenAI-compatible endpoints from config alone: local servers on an address only the
 * operator may name (loopback here), with no key; hosted vendors with their key as a bearer token
 * and extra headers from the environment; a hosted one whose key is unset is never dialled. Each
 * fake replays its vendor's recorded answers.
 */
describe('openai-compatible presets against fake local servers and vendors', () => {
  let s: TestServer;
  let client: OpenAI;
  const local = new FakeUpstream();
  const hosted = new FakeUpstream();
  const saved = Object.fromEntries(keyVars.map((k) => [k, process.env[k]]));
  before(async () => {
    await Promise.all([local.start(), hosted.start()]);
    process.env.OPENROUTER_API_KEY = 'sk-or-v1-test';
    process.env.GROQ_API_KEY = 'gsk_test';
    process.env.TEST_OR_REFERER = 'https://agentry.example';
    process.env.TEST_OR_TITLE = 'Agentry';
    delete process.env.MISTRAL_API_KEY;
    process.env.TEST_GW_ANTH_KEY = 'sk-ant-gw';
    process.env.TEST_GW_AUTH = 'Bearer gw-token';
    delete process.env.TEST_GW_UNSET;
    s = await startServer('pglite', {
      models: {
        providers: {
          ollama: { preset: 'ollama', base_url: `${local.url}/v1` },
          llamacpp: { preset: 'llamacpp', base_url: `${local.url}/v1` },
          openrouter: {
            preset: 'openrouter',
            base_url: `${hosted.url}/api/v1`,
            headers_env: { 'HTTP-Referer': 'TEST_OR_REFERER', 'X-Title': 'TEST_OR_TITLE' },
          },
          groq: { preset: 'groq', base_url: `${hosted.url}/openai/v1` },
          mistral: { preset: 'mistral' },
          // Anthropic behind an AI gateway that wants its own header (Cloudflare's, here).
          claude: {
            type: 'anthropic',
            base_url: `${hosted.url}/anthropic`,
            api_key_env: 'TEST_GW_ANTH_KEY',
            headers_env: { 'cf-aig-authorization': 'TEST_GW_AUTH', 'x-unset': 'TEST_GW_UNSET' },
          },
        },
        retries: { max: 3, base_ms: 1, max_ms: 2000 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await Promise.all([local.close(), hosted.close()]);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('ollama: a local server on loopback, called with no key, its answer and usage kept', async () => {
    local.answer({ status: 200, body: ollama.completion });
    const before = local.seen.length;
    const c = await client.chat.completions.create({
      model: 'ollama/llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0,
    });
    assert.equal(c.choices[0]?.message.content, 'Hi from llama.');
    assert.equal(c.model, 'ollama/llama3.2');
    assert.deepEqual(c.usage, { prompt_tokens: 27, completion_tokens: 5, total_tokens: 32 });
    const seen = local.seen[before]!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.headers.authorization, undefined, 'no key');
    assert.equal(seen.headers['api-key'], undefined);
    assert.equal(seen.body.model, 'llama3.2');
    assert.equal(seen.body.temperature, 0);
    assert.deepEqual(seen.body.messages, [{ role: 'user', content: 'hi' }]);
  });

  it('ollama: a streamed tool call that comes whole in one chunk, with its usage', async () => {
    local.answer({ sse: ollama.toolStream });
    const runner = client.chat.completions.stream({
      model: 'ollama/llama3.2',
      tools: [weather],
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'weather in Lima?' }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.id, 'call_q2nm3y7w');
    assert.equal(call.function.arguments, '{"city":"Lima"}');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(final.usage?.prompt_tokens, 140);
    assert.equal(local.seen.at(-1)!.body.stream, true);
  });

  it("ollama: a model that is not pulled is the server's 404 with its message", async () => {
    local.answer(ollama.notFound);
    const before = local.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'ollama/llama9', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 404, res.text);
    assert.match(res.body.error.message, /try pulling it first/);
    assert.equal(local.seen.length - before, 1, 'not retried');
  });

  it('llama.cpp: a 503 while the model loads is retried', async () => {
    local.answer(llamacpp.loading, { status: 200, body: ollama.completion });
    const before = local.seen.length;
    const c = await client.chat.completions.create({
      model: 'llamacpp/qwen2.5-7b',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(c.choices[0]?.message.content, 'Hi from llama.');
    assert.equal(local.seen.length - before, 2);
  });

  it('openrouter: its key as a bearer token, extra headers from the environment, keep-alive comments skipped', async () => {
    hosted.answer({ sse: openrouter.stream });
    const before = hosted.seen.length;
    const stream = await client.chat.completions.create({
      model: 'openrouter/mistralai/mistral-small-3.1-24b-instruct',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, 'Routed answer.');
    assert.deepEqual(usage, { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
    const seen = hosted.seen[before]!;
    assert.equal(seen.path, '/api/v1/chat/completions');
    assert.equal(seen.headers.authorization, 'Bearer sk-or-v1-test', 'OPENROUTER_API_KEY, by default');
    assert.equal(seen.headers['http-referer'], 'https://agentry.example');
    assert.equal(seen.headers['x-title'], 'Agentry');
    assert.equal(seen.body.model, 'mistralai/mistral-small-3.1-24b-instruct');
  });

  it("groq: a 429 comes back with its Retry-After; then a tool call with Groq's usage", async () => {
    hosted.answer(groq.rateLimited);
    const before = hosted.seen.length;
    const err = await client.chat.completions
      .create({ model: 'groq/llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.headers.get('retry-after'), '4');
    assert.match(err.message, /Rate limit reached/);
    assert.equal(hosted.seen.length - before, 1);
    assert.equal(hosted.seen[before]!.headers.authorization, 'Bearer gsk_test');
    assert.equal(hosted.seen[before]!.path, '/openai/v1/chat/completions');

    hosted.answer({ status: 200, body: groq.completion });
    const c = await client.chat.completions.create({
      model: 'groq/llama-3.3-70b-versatile',
      tools: [weather],
      messages: [{ role: 'user', content: 'weather in Quito?' }],
    });
    const call = c.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.function.arguments, '{"city":"Quito"}');
    assert.equal(c.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(c.usage?.prompt_tokens, 224);
    assert.equal(c.usage?.completion_tokens, 19);
  });

  it('anthropic: extra headers from the environment beside its own key header; an unset one is left out', async () => {
    hosted.answer({ status: 200, body: anthropicMessage });
    const before = hosted.seen.length;
    const c = await client.chat.completions.create({
      model: 'claude/claude-opus-4-1',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 50,
    });
    assert.equal(c.choices[0]?.message.content, 'Hello through the gateway.');
    const seen = hosted.seen[before]!;
    assert.equal(seen.path, '/anthropic/v1/messages');
    // The SDK sends the key as x-api-key or a bearer token, by version; either way the gateway's header is apart.
    assert.ok([seen.headers['x-api-key'], seen.headers.authorization].some((h) => h?.includes('sk-ant-gw')));
    assert.equal(seen.headers['cf-aig-authorization'], 'Bearer gw-token');
    assert.equal(seen.headers['x-unset'], undefined);
  });

  it('mistral: a hosted preset whose key is unset is a 404 naming the variable, never dialled', async () => {
    const err = await client.chat.completions
      .create({ model: 'mistral/mistral-small-latest', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.NotFoundError, String(err));
    assert.match(err.message, /provider "mistral" is not configured: set MISTRAL_API_KEY/);
    const health = await s.request('GET', '/health');
    assert.equal(health.body.components['model:mistral'].status, 'off');
    assert.equal(health.body.components['model:ollama'].status, 'ok');
  });

  it("the operator's loopback server stays out of a client's reach", async () => {
    // The provider above dials this very address; a client naming it (an MCP server here) is refused.
    const before = local.seen.length;
    const res = await s.request('POST', '/v1/mcp-servers', {
      body: { name: 'sneaky', transport: 'http', url: `${local.url}/v1` },
    });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error.message, /not a public address/);
    // Nor can a request steer the provider: a `base_url` field travels as a body field, to the same place.
    local.answer({ status: 200, body: ollama.completion });
    await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'ollama/llama3.2',
        messages: [{ role: 'user', content: 'x' }],
        base_url: 'http://169.254.169.254/',
      },
    });
    assert.equal(local.seen.length - before, 1);
    assert.equal(local.seen.at(-1)!.path, '/v1/chat/completions');
  });

  it('config: a preset fills in the type and key variable; it takes no other type, nor a framing header', () => {
    const groqConfig = testConfig({ models: { providers: { g: { preset: 'groq' } } } });
    assert.equal(groqConfig.models.providers.g?.type, 'openai');
    assert.equal(groqConfig.models.providers.g?.api_key_env, 'GROQ_API_KEY');
    assert.equal(groqConfig.models.providers.g?.base_url, undefined, "the vendor's own, so the key decides");
    const local = testConfig({ models: { providers: { o: { preset: 'vllm', api_key_env: 'VLLM_KEY' } } } });
    assert.equal(local.models.providers.o?.api_key_env, 'VLLM_KEY');
    assert.throws(
      () => testConfig({ models: { providers: { x: { preset: 'groq', type: 'anthropic' } } } }),
      /a preset is an OpenAI-compatible endpoint/,
    );
    assert.throws(
      () => testConfig({ models: { providers: { x: {} } } }),
      /a provider needs a type or a preset/,
    );
    assert.throws(() =>
      testConfig({
        models: { providers: { x: { preset: 'ollama', headers_env: { 'Content-Type': 'CT' } } } },
      }),
    );
  });

  it('a header variable holding a line break stops the start, naming it', () => {
    const models = testConfig({
      models: { providers: { o: { preset: 'ollama', headers_env: { 'X-Tag': 'TEST_TAG' } } } },
    }).models;
    assert.throws(
      () => createProviders(models, { TEST_TAG: 'a\r\nx-injected: 1' }),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'config_error' &&
        /headers_env\.X-Tag: TEST_TAG/.test(err.message),
    );
  });
});
