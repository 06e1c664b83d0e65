import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream } from './helpers/fake-upstream.ts';
import { gemini } from './helpers/gemini-wire.ts';

/*
 * Answers in the vendors' shapes, after their API references: an OpenAI reasoning model's usage
 * with cached prompt tokens and reasoning tokens; Claude's answer with a signed thinking block and
 * prompt-cache reads and writes, whole and streamed.
 */
const o4Answer = {
  id: 'chatcmpl-Bx1reason',
  object: 'chat.completion',
  created: 1764200000,
  model: 'o4-mini-2025-04-16',
  system_fingerprint: null,
  service_tier: 'default',
  choices: [
    {
      index: 0,
      finish_reason: 'stop',
      logprobs: null,
      message: { role: 'assistant', content: 'The answer is 42.', refusal: null, annotations: [] },
    },
  ],
  usage: {
    prompt_tokens: 1200,
    completion_tokens: 400,
    total_tokens: 1600,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 320,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  },
};

const signature =
  'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds/rXKLdLcYBXBlQnUA6NKW0rzyLsJOJ3HWWpsK8LPyw==';
const claudeThinking = {
  id: 'msg_01ThinkingExample',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'The user asks for 6 times 7. That is 42.', signature },
    { type: 'text', text: '6 × 7 = 42.' },
  ],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: {
    input_tokens: 20,
    cache_creation_input_tokens: 100,
    cache_read_input_tokens: 500,
    output_tokens: 80,
    service_tier: 'standard',
  },
};

const claudeThinkingStream = [
  {
    type: 'message_start',
    message: {
      id: 'msg_01ThinkingStream',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 20,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 600,
        output_tokens: 1,
      },
    },
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Six sevens ' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'are 42.' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: '42.' } },
  { type: 'content_block_stop', index: 1 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 60 },
  },
  { type: 'message_stop' },
];

/** Per million tokens. */
const prices = {
  'oai/o4-mini': { input: 1.1, output: 4.4, cache_read: 0.275 },
  'claude/claude-sonnet-4-6': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
};

describe('reasoning settings reach the providers; cached and reasoning tokens are counted and priced', () => {
  let s: TestServer;
  let oai: OpenAI;
  let anthropic: Anthropic;
  const up = new FakeUpstream();
  const anth = new FakeUpstream();
  const spans = new InMemorySpanExporter();
  before(async () => {
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    );
    await Promise.all([up.start(), anth.start()]);
    process.env.TEST_REASONING_ANTH_KEY = 'sk-ant-reasoning';
    process.env.TEST_REASONING_GEMINI_KEY = 'gemini-reasoning';
    s = await startServer('pglite', {
      models: {
        retries: { max: 0 },
        providers: {
          oai: { type: 'openai', base_url: `${up.url}/v1` },
          claude: { type: 'anthropic', base_url: anth.url, api_key_env: 'TEST_REASONING_ANTH_KEY' },
          gem: { type: 'gemini', base_url: `${up.url}/v1beta`, api_key_env: 'TEST_REASONING_GEMINI_KEY' },
          bed: { type: 'bedrock', base_url: up.url, region: 'us-east-1' },
        },
        prices,
      },
    });
    oai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await Promise.all([up.close(), anth.close()]);
    delete process.env.TEST_REASONING_ANTH_KEY;
    delete process.env.TEST_REASONING_GEMINI_KEY;
  });

  /** Today's usage of one model, by GET /v1/usage. */
  async function usageOf(model: string) {
    const res = await s.request('GET', `/v1/usage?model=${encodeURIComponent(model)}`);
    assert.equal(res.status, 200, res.text);
    // biome-ignore lint/suspicious/noExplicitAny: the usage API's rows
    const rows = (res.body as { data: any[] }).data;
    assert.equal(rows.length, 1, JSON.stringify(rows));
    return rows[0];
  }

  it('chat completions: reasoning_effort reaches an OpenAI-type provider; cached and reasoning tokens are kept and priced', async () => {
    up.answer({ status: 200, body: o4Answer });
    const seenBefore = up.seen.length;
    const c = await oai.chat.completions.create({
      model: 'oai/o4-mini',
      reasoning_effort: 'high',
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    assert.equal(c.choices[0]?.message.content, 'The answer is 42.');
    assert.equal(c.usage?.prompt_tokens_details?.cached_tokens, 1024);
    assert.equal(c.usage?.completion_tokens_details?.reasoning_tokens, 320);
    const seen = up.seen[seenBefore]!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.body.reasoning_effort, 'high');
    assert.equal(seen.body.model, 'o4-mini');

    const row = await usageOf('oai/o4-mini');
    assert.equal(row.input_tokens, 1200);
    assert.equal(row.output_tokens, 400);
    assert.equal(row.cached_input_tokens, 1024);
    assert.equal(row.cache_write_tokens, 0);
    assert.equal(row.reasoning_tokens, 320);
    // 176 plain prompt tokens, 1024 cached at the cache-read price, 400 completion tokens.
    const cost = (176 * 1.1 + 1024 * 0.275 + 400 * 4.4) / 1e6;
    assert.ok(Math.abs(row.cost - cost) < 1e-12, `${row.cost} vs ${cost}`);

    const span = spans.getFinishedSpans().find((x) => x.name === 'chat oai/o4-mini');
    assert.ok(span, 'a span for the call');
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 1200);
    assert.equal(span.attributes['gen_ai.usage.cache_read.input_tokens'], 1024);
    assert.equal(span.attributes['gen_ai.usage.reasoning.output_tokens'], 320);
    assert.equal(span.attributes['gen_ai.usage.cache_creation.input_tokens'], undefined);
  });

  it('responses: reasoning {effort, summary} is accepted, its effort sent as reasoning_effort, the usage details answered', async () => {
    up.answer({ status: 200, body: o4Answer });
    const seenBefore = up.seen.length;
    const r = await oai.responses.create({
      model: 'oai/o4-mini',
      input: 'What is 6 times 7?',
      reasoning: { effort: 'low', summary: 'auto' },
      store: false,
    });
    assert.equal(r.output_text, 'The answer is 42.');
    assert.equal(r.reasoning?.effort, 'low');
    assert.equal(r.reasoning?.summary, 'auto');
    assert.equal(r.usage?.input_tokens_details.cached_tokens, 1024);
    assert.equal(r.usage?.output_tokens_details.reasoning_tokens, 320);
    const seen = up.seen[seenBefore]!;
    assert.equal(seen.body.reasoning_effort, 'low');
    assert.equal(seen.body.reasoning, undefined, 'Chat Completions has no reasoning object');
  });

  it('messages: thinking reaches an Anthropic provider as sent; the signed thinking block and cache usage come back', async () => {
    anth.answer({ status: 200, body: claudeThinking });
    const seenBefore = anth.seen.length;
    const m = await anthropic.messages.create({
      model: 'claude/claude-sonnet-4-6',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      system: [{ type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    const seen = anth.seen[seenBefore]!;
    assert.equal(seen.path, '/v1/messages');
    assert.deepEqual(seen.body.thinking, { type: 'enabled', budget_tokens: 2048 });
    assert.equal(seen.body.max_tokens, 4096);
    assert.deepEqual(m.content, claudeThinking.content);
    assert.deepEqual(m.usage, {
      input_tokens: 20,
      output_tokens: 80,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 500,
    });
    // Adaptive thinking and an effort, as newer models take them, go on as they were sent.
    anth.answer({ status: 200, body: claudeThinking });
    await anthropic.messages.create({
      model: 'claude/claude-sonnet-4-6',
      max_tokens: 4096,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'high' },
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    assert.deepEqual(anth.seen.at(-1)!.body.thinking, { type: 'adaptive' });
    assert.deepEqual(anth.seen.at(-1)!.body.output_config, { effort: 'high' });
    const noBudget = await anthropic.messages
      .create({
        model: 'claude/claude-sonnet-4-6',
        max_tokens: 4096,
        thinking: { type: 'enabled' } as never,
        messages: [{ role: 'user', content: 'What is 6 times 7?' }],
      })
      .catch((e: unknown) => e);
    assert.ok(noBudget instanceof Anthropic.BadRequestError, String(noBudget));
    assert.match(noBudget.message, /thinking\.budget_tokens/);

    const row = await usageOf('claude/claude-sonnet-4-6');
    assert.equal(row.requests, 2);
    assert.equal(row.input_tokens, 2 * 620);
    assert.equal(row.cached_input_tokens, 2 * 500);
    assert.equal(row.cache_write_tokens, 2 * 100);
    const cost = (2 * (20 * 3 + 500 * 0.3 + 100 * 3.75 + 80 * 15)) / 1e6;
    assert.ok(Math.abs(row.cost - cost) < 1e-12, `${row.cost} vs ${cost}`);
  });

  it('messages: a streamed thinking block arrives as Anthropic streams it, signature included', async () => {
    anth.answer({ sse: claudeThinkingStream, eventNames: true });
    const stream = anthropic.messages.stream({
      model: 'claude/claude-sonnet-4-6',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    const kinds: string[] = [];
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta') kinds.push(e.delta.type);
    });
    const m = await stream.finalMessage();
    assert.deepEqual(m.content[0], { type: 'thinking', thinking: 'Six sevens are 42.', signature });
    assert.equal(m.content[1]?.type === 'text' && m.content[1].text, '42.');
    assert.deepEqual(kinds, ['thinking_delta', 'thinking_delta', 'signature_delta', 'text_delta']);
    assert.equal(m.usage.cache_read_input_tokens, 600);
    assert.equal(m.usage.input_tokens, 20);
    assert.equal(m.usage.output_tokens, 60);
  });

  it('messages: thinking blocks of an earlier turn go back to Anthropic unchanged, before the tool call', async () => {
    anth.answer({ status: 200, body: { ...claudeThinking, content: [{ type: 'text', text: 'Sunny.' }] } });
    const seenBefore = anth.seen.length;
    await anthropic.messages.create({
      model: 'claude/claude-sonnet-4-6',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [
        { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      ],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I should call the tool.', signature },
            { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
            { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: 'sunny' }] },
      ],
    });
    const seen = anth.seen[seenBefore]!;
    assert.deepEqual(seen.body.messages[1].content, [
      { type: 'thinking', thinking: 'I should call the tool.', signature },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
      { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
    ]);
  });

  it('messages: thinking to an OpenAI-type provider becomes the effort of its budget', async () => {
    up.answer({ status: 200, body: o4Answer });
    const seenBefore = up.seen.length;
    const m = await anthropic.messages.create({
      model: 'oai/o4-mini',
      max_tokens: 20_000,
      thinking: { type: 'enabled', budget_tokens: 10_000 },
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    const seen = up.seen[seenBefore]!;
    assert.equal(seen.body.reasoning_effort, 'medium');
    assert.equal(seen.body.thinking, undefined);
    // Anthropic's effort is the effort: adaptive thinking alone sends none (the model's default).
    up.answer({ status: 200, body: o4Answer });
    await anthropic.messages.create({
      model: 'oai/o4-mini',
      max_tokens: 1000,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'low' },
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    assert.equal(up.seen.at(-1)!.body.reasoning_effort, 'low');
    assert.deepEqual(m.usage, {
      input_tokens: 176,
      output_tokens: 400,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1024,
    });
  });

  it('chat completions: reasoning_effort to an Anthropic provider becomes a thinking budget below max_tokens', async () => {
    anth.answer({ status: 200, body: claudeThinking });
    const seenBefore = anth.seen.length;
    const c = await oai.chat.completions.create({
      model: 'claude/claude-sonnet-4-6',
      max_tokens: 4000,
      reasoning_effort: 'high',
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    const seen = anth.seen[seenBefore]!;
    assert.deepEqual(seen.body.thinking, { type: 'enabled', budget_tokens: 3999 });
    assert.equal(seen.body.reasoning_effort, undefined);
    // The thinking stays with the provider: Chat Completions callers get the text.
    assert.equal(c.choices[0]?.message.content, '6 × 7 = 42.');
    assert.equal(c.usage?.prompt_tokens, 620);
    assert.equal(c.usage?.prompt_tokens_details?.cached_tokens, 500);

    anth.answer({ status: 200, body: claudeThinking });
    await oai.chat.completions.create({
      model: 'claude/claude-sonnet-4-6',
      max_tokens: 1000,
      reasoning_effort: 'low',
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    assert.equal(anth.seen.at(-1)!.body.thinking, undefined, 'below the 1024-token minimum: no thinking');
  });

  it('gemini: an effort or a budget becomes thinkingConfig.thinkingBudget', async () => {
    up.answer({ status: 200, body: gemini.textAnswer('42.') });
    await oai.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      reasoning_effort: 'low',
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    assert.match(up.seen.at(-1)!.path, /^\/v1beta\/models\/gemini-2\.5-flash:generateContent/);
    assert.deepEqual(up.seen.at(-1)!.body.generationConfig.thinkingConfig, { thinkingBudget: 2048 });
    await anthropic.messages.create({
      model: 'gem/gemini-2.5-flash',
      max_tokens: 8000,
      thinking: { type: 'enabled', budget_tokens: 3000 },
      messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    });
    assert.deepEqual(up.seen.at(-1)!.body.generationConfig.thinkingConfig, { thinkingBudget: 3000 });
  });

  it('a provider that does not take reasoning settings refuses them with a 400 naming the field, never dialled', async () => {
    const seenBefore = up.seen.length;
    const err = await oai.chat.completions
      .create({
        model: 'bed/anthropic.claude-3-5-sonnet-20240620-v1:0',
        reasoning_effort: 'high',
        messages: [{ role: 'user', content: 'What is 6 times 7?' }],
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.param, 'reasoning_effort');
    assert.match(err.message, /Bedrock/);
    assert.equal(up.seen.length, seenBefore);
    // The mock takes them and ignores them.
    const c = await oai.chat.completions.create({
      model: 'mock/default',
      reasoning_effort: 'high',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.ok(c.choices[0]?.message.content);
  });
});
