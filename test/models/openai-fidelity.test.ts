import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from './helpers/fake-upstream.ts';

/** A request using every documented Chat Completions field the gateway does not act on itself. */
const everyField = {
  model: 'up/gpt-x',
  messages: [
    { role: 'developer', content: 'Be brief.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
      ],
      name: 'alice',
    },
  ],
  seed: 7,
  user: 'user-42',
  parallel_tool_calls: false,
  logprobs: true,
  top_logprobs: 2,
  frequency_penalty: 0.5,
  presence_penalty: -0.5,
  logit_bias: { '50256': -100 },
  n: 1,
  max_completion_tokens: 33,
  temperature: 0.2,
  top_p: 0.9,
  stop: ['END'],
  response_format: {
    type: 'json_schema',
    json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: {} } },
  },
  metadata: { purpose: 'test' },
  store: true,
  service_tier: 'flex',
  reasoning_effort: 'low',
  verbosity: 'low',
  prediction: { type: 'content', content: 'maybe' },
  modalities: ['text'],
  prompt_cache_key: 'k1',
  safety_identifier: 'sid',
  web_search_options: { search_context_size: 'low' },
  tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' }, strict: true } }],
  tool_choice: 'auto',
  x_vendor_extension: { anything: [1, 2] },
};

const usage = {
  prompt_tokens: 11,
  completion_tokens: 7,
  total_tokens: 18,
  prompt_tokens_details: { cached_tokens: 5, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 3, accepted_prediction_tokens: 1 },
};
const logprobs = {
  content: [{ token: 'hi', logprob: -0.1, bytes: [104, 105], top_logprobs: [] }],
  refusal: null,
};

describe('/v1/chat/completions fidelity: every field reaches an OpenAI-type upstream unchanged', () => {
  let s: TestServer;
  let client: OpenAI;
  const up = new FakeUpstream();
  const anth = new FakeUpstream();
  before(async () => {
    await Promise.all([up.start(), anth.start()]);
    s = await startServer('pglite', {
      models: {
        providers: {
          up: { type: 'openai', base_url: `${up.url}/v1` },
          claude: { type: 'anthropic', base_url: anth.url },
        },
        retries: { max: 0, base_ms: 1, max_ms: 10 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await Promise.all([up.close(), anth.close()]);
  });

  it('sends the request body as the client sent it, and answers what the upstream sent', async () => {
    up.answer({
      status: 200,
      body: {
        ...oa.completion('{}', { refusal: 'not this', annotations: [{ type: 'url_citation' }] }),
        system_fingerprint: 'fp_123',
        service_tier: 'flex',
        usage,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: '{}', refusal: 'not this', annotations: [{ type: 'x' }] },
            logprobs,
            finish_reason: 'stop',
          },
        ],
      },
    });
    const res = await s.request('POST', '/v1/chat/completions', { body: everyField });
    assert.equal(res.status, 200, res.text);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.deepEqual(seen.body, { ...everyField, model: 'gpt-x' });
    const body = res.body;
    assert.equal(body.system_fingerprint, 'fp_123');
    assert.equal(body.service_tier, 'flex');
    assert.deepEqual(body.usage, usage);
    assert.deepEqual(body.choices[0].logprobs, logprobs);
    assert.equal(body.choices[0].message.refusal, 'not this');
    assert.deepEqual(body.choices[0].message.annotations, [{ type: 'x' }]);
  });

  it('streams with the client’s stream_options kept, logprobs per chunk and usage details', async () => {
    up.answer({
      sse: [
        {
          ...oa.chunk({ role: 'assistant', content: 'hi' }),
          system_fingerprint: 'fp_9',
          choices: [{ index: 0, delta: { content: 'hi' }, logprobs, finish_reason: null }],
        },
        { ...oa.chunk({}, 'stop'), system_fingerprint: 'fp_9' },
        { ...oa.usageChunk(11, 7), usage },
        '[DONE]',
      ],
    });
    const stream = await client.chat.completions.create({
      model: 'up/gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: false },
      logprobs: true,
      max_completion_tokens: 9,
    });
    let chunkLogprobs: unknown;
    let seenUsage: unknown;
    let fingerprint: string | undefined | null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.logprobs) chunkLogprobs = chunk.choices[0].logprobs;
      if (chunk.usage) seenUsage = chunk.usage;
      if (chunk.system_fingerprint) fingerprint = chunk.system_fingerprint;
    }
    const sent = up.seen.at(-1)!.body;
    assert.deepEqual(sent.stream_options, { include_usage: true, include_obfuscation: false });
    assert.equal(sent.max_completion_tokens, 9);
    assert.equal(sent.max_tokens, undefined);
    assert.equal(sent.logprobs, true);
    assert.deepEqual(chunkLogprobs, logprobs);
    assert.deepEqual(seenUsage, usage);
    assert.equal(fingerprint, 'fp_9');
  });

  it('refuses n > 1 with a 400 naming n (the official client raises BadRequestError)', async () => {
    const err = await client.chat.completions
      .create({ model: 'up/gpt-x', n: 2, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.param, 'n');
  });

  it('a provider that cannot honour a field refuses it by name: the mock and logprobs', async () => {
    const err = await client.chat.completions
      .create({ model: 'mock/default', logprobs: true, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.param, 'logprobs');
    assert.match(err.message, /logprobs is not supported by the mock provider/);
    // Values that ask for nothing beyond the default are honoured by any provider.
    const ok = await client.chat.completions.create({
      model: 'mock/default',
      logprobs: false,
      seed: 3,
      user: 'u',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(ok.choices[0]?.message.content, 'You said: hi');
  });

  it('anthropic: seed is refused by name; user and parallel_tool_calls are mapped', async () => {
    const err = await client.chat.completions
      .create({ model: 'claude/c', seed: 1, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.param, 'seed');
    const audio = await client.chat.completions
      .create({
        model: 'claude/c',
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] },
        ],
      })
      .catch((e: unknown) => e);
    assert.ok(audio instanceof OpenAI.BadRequestError);
    assert.equal(audio.param, 'messages[0].content[0]');
    anth.answer({ status: 200, body: anthropicMessage([{ type: 'text', text: 'ok' }], 'end_turn') });
    await client.chat.completions.create({
      model: 'claude/c',
      user: 'user-9',
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    const sent = anth.seen.at(-1)!.body;
    assert.deepEqual(sent.metadata, { user_id: 'user-9' });
    assert.deepEqual(sent.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    assert.deepEqual(sent.messages[0].content[1], {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
    });
  });

  it('anthropic: structured output is a forced tool whose input is the answer', async () => {
    anth.answer({
      status: 200,
      body: anthropicMessage(
        [{ type: 'tool_use', id: 'toolu_1', name: 'structured_output', input: { city: 'Bern' } }],
        'tool_use',
      ),
    });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const c = await client.chat.completions.create({
      model: 'claude/c',
      response_format: { type: 'json_schema', json_schema: { name: 'place', schema } },
      messages: [{ role: 'user', content: 'where?' }],
    });
    assert.deepEqual(JSON.parse(c.choices[0]!.message.content!), { city: 'Bern' });
    assert.equal(c.choices[0]?.finish_reason, 'stop');
    assert.equal(c.choices[0]?.message.tool_calls, undefined);
    const sent = anth.seen.at(-1)!.body;
    assert.deepEqual(sent.tool_choice, { type: 'tool', name: 'structured_output' });
    assert.deepEqual(sent.tools[0].input_schema, schema);
  });

  it('anthropic: a streamed structured answer arrives as text deltas, finishing with stop', async () => {
    anth.answer({
      eventNames: true,
      sse: [
        {
          type: 'message_start',
          message: {
            id: 'msg_2',
            type: 'message',
            role: 'assistant',
            model: 'c',
            content: [],
            stop_reason: null,
            usage: { input_tokens: 9, output_tokens: 1 },
          },
        },
        {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'tool_use', id: 'toolu_1', name: 'structured_output', input: {} },
        },
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: '{"city":' },
        },
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: '"Chur"}' },
        },
        { type: 'content_block_stop', index: 0 },
        { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 6 } },
        { type: 'message_stop' },
      ],
    });
    const stream = await client.chat.completions.create({
      model: 'claude/c',
      stream: true,
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'where?' }],
    });
    let text = '';
    const finishes: string[] = [];
    let toolCalls = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      toolCalls += chunk.choices[0]?.delta.tool_calls?.length ?? 0;
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    assert.deepEqual(JSON.parse(text), { city: 'Chur' });
    assert.equal(toolCalls, 0);
    assert.deepEqual(finishes, ['stop']);
  });

  it('an inline part over the limit is a 413 naming it', async () => {
    const big = 'A'.repeat(28 * 1024 * 1024);
    const res = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'mock/default',
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: big, format: 'wav' } }] },
        ],
      },
    });
    assert.equal(res.status, 413, res.text);
    assert.equal(res.body.error.param, 'messages[0].content[0]');
    assert.equal(res.body.error.type, 'invalid_request_error');
  });
});

function anthropicMessage(content: unknown[], stop: string) {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'c',
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 3 },
  };
}
