import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from './helpers/fake-upstream.ts';
import { anthropic } from './helpers/vendor-answers.ts';

const weather = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('providers against fake upstreams over real HTTP', () => {
  let s: TestServer;
  let client: OpenAI;
  const up = new FakeUpstream();
  const down = new FakeUpstream();
  const anth = new FakeUpstream();
  before(async () => {
    await Promise.all([up.start(), down.start(), anth.start()]);
    process.env.TEST_UP_KEY = 'sk-upstream-secret';
    process.env.TEST_ANTH_KEY = 'sk-ant-secret';
    s = await startServer('pglite', {
      models: {
        providers: {
          up: { type: 'openai', base_url: `${up.url}/v1`, api_key_env: 'TEST_UP_KEY' },
          down: { type: 'openai', base_url: `${down.url}/v1` },
          claude: { type: 'anthropic', base_url: anth.url, api_key_env: 'TEST_ANTH_KEY' },
        },
        retries: { max: 3, base_ms: 1, max_ms: 2000 },
        fallbacks: { 'down/model': ['mock/default'] },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await Promise.all([up.close(), down.close(), anth.close()]);
  });

  it('openai: maps a completion, sends the key and forwards X-Request-Id upstream', async () => {
    up.answer({ status: 200, body: oa.completion('hello from upstream') });
    const before = up.seen.length;
    const { data, response } = await client.chat.completions
      .create({ model: 'up/gpt-x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 })
      .withResponse();
    assert.equal(data.choices[0]?.message.content, 'hello from upstream');
    assert.equal(data.model, 'up/gpt-x');
    assert.deepEqual(data.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    const seen = up.seen[before]!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.body.model, 'gpt-x');
    assert.equal(seen.body.max_tokens, 20);
    assert.equal(seen.headers.authorization, 'Bearer sk-upstream-secret');
    assert.equal(seen.headers['x-request-id'], response.headers.get('x-request-id'));
  });

  it('openai: streams tool-call deltas and the upstream usage through', async () => {
    up.answer({
      sse: [
        oa.chunk({ role: 'assistant', content: null }),
        oa.chunk({
          tool_calls: [
            { index: 0, id: 'call_up', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        }),
        oa.chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        oa.chunk({ tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] }),
        oa.chunk({}, 'tool_calls'),
        oa.usageChunk(30, 9),
        '[DONE]',
      ],
    });
    const runner = client.chat.completions.stream({
      model: 'up/gpt-x',
      tools: [weather],
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'weather in Rome?' }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.id, 'call_up');
    assert.equal(call.function.arguments, '{"city":"Rome"}');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(final.usage?.completion_tokens, 9);
    assert.equal(up.seen.at(-1)!.body.stream_options.include_usage, true);
  });

  it("openai: a character split across the upstream's reads arrives whole, streamed or not", async () => {
    const text = 'café ☕ 😀';
    /** Cuts `body` inside the first byte sequence of 😀 (4 bytes), so no read ends on a boundary. */
    const split = (body: string) => {
      const bytes = Buffer.from(body);
      const at = bytes.indexOf(Buffer.from('😀')) + 2;
      return [bytes.subarray(0, at), bytes.subarray(at)];
    };
    up.answer({
      pieces: split(JSON.stringify(oa.completion(text))),
      contentType: 'application/json',
      gapMs: 30,
    });
    const whole = await client.chat.completions.create({
      model: 'up/gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(whole.choices[0]?.message.content, text);

    const events = [oa.chunk({ role: 'assistant', content: text }), oa.chunk({}, 'stop')];
    up.answer({
      pieces: split(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`),
      contentType: 'text/event-stream',
      gapMs: 30,
    });
    let streamed = '';
    const stream = await client.chat.completions.create({
      model: 'up/gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    assert.equal(streamed, text);
  });

  it('openai: estimates the output tokens (a quarter of its characters) when the upstream reports no usage', async () => {
    const { usage: _none, ...bare } = oa.completion('twelve chars');
    up.answer({ status: 200, body: bare });
    const whole = await client.chat.completions.create({
      model: 'up/gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(whole.usage?.completion_tokens, 3);

    up.answer({
      sse: [
        oa.chunk({ role: 'assistant', content: 'twelve ' }),
        oa.chunk({ content: 'chars and more' }, 'stop'),
        '[DONE]',
      ],
    });
    const stream = await client.chat.completions.create({
      model: 'up/gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let completion: number | undefined;
    for await (const chunk of stream) completion = chunk.usage?.completion_tokens ?? completion;
    assert.equal(completion, 6, '21 characters streamed');
  });

  it('retries 429 honouring Retry-After, and 5xx, then succeeds', async () => {
    up.answer(
      { status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '0' } },
      { status: 503, body: { error: { message: 'busy' } } },
      { status: 200, body: oa.completion('third time lucky') },
    );
    const before = up.seen.length;
    const c = await client.chat.completions.create({
      model: 'up/gpt-x',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(c.choices[0]?.message.content, 'third time lucky');
    assert.equal(up.seen.length - before, 3);
  });

  it('passes a 429 with a long Retry-After back to the caller with that Retry-After', async () => {
    up.answer({ status: 429, body: { error: { message: 'quota' } }, headers: { 'retry-after': '30' } });
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'up/gpt-x', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '30');
    assert.equal(res.body.error.type, 'rate_limit_error');
  });

  it('does not retry a 400 from upstream and answers it as the caller’s mistake', async () => {
    up.answer({ status: 400, body: { error: { message: 'bad temperature' } } });
    const before = up.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'up/gpt-x', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /bad temperature/);
    assert.equal(up.seen.length - before, 1);
  });

  it('a reset mid-stream ends with an error event, never a finish', async () => {
    up.answer({
      sse: [
        oa.chunk({ role: 'assistant', content: 'partial ' }),
        oa.chunk({ content: 'answer' }),
        oa.chunk({}, 'stop'),
      ],
      resetAfter: 2,
      gapMs: 50,
    });
    const stream = await client.chat.completions.create({
      model: 'up/gpt-x',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    let text = '';
    const finishes: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? '';
          if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
        }
      })(),
      (err: unknown) => err instanceof OpenAI.APIError && /stream broke/.test(err.message),
    );
    assert.equal(text, 'partial answer');
    assert.deepEqual(finishes, []);
  });

  /** Streams through the gateway; answers the text seen, the finishes seen and the error raised. */
  async function streamed(model: string) {
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    let text = '';
    const finishes: string[] = [];
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      }
    } catch (err) {
      return { text, finishes, err };
    }
    return { text, finishes, err: undefined };
  }

  it('an error payload or an `event: error` mid-stream ends with an error event after the text before it', async () => {
    up.answer({
      sse: [
        oa.chunk({ role: 'assistant', content: 'partial ' }),
        { error: { message: 'overloaded' } },
        oa.chunk({}, 'stop'),
      ],
    });
    const payload = await streamed('up/gpt-x');
    assert.ok(payload.err instanceof OpenAI.APIError);
    assert.match(payload.err.message, /the upstream sent an error: overloaded/);
    assert.equal(payload.text, 'partial ');
    assert.deepEqual(payload.finishes, []);

    up.answer({
      eventNames: true,
      sse: [
        { ...oa.chunk({ role: 'assistant', content: 'partial ' }), type: 'message' },
        { type: 'error', error: { message: 'server busy' } },
        { ...oa.chunk({}, 'stop'), type: 'message' },
      ],
    });
    const event = await streamed('up/gpt-x');
    assert.ok(event.err instanceof OpenAI.APIError);
    assert.match(event.err.message, /the upstream sent an error: server busy/);
    assert.equal(event.text, 'partial ');
    assert.deepEqual(event.finishes, []);
  });

  it('a client that disconnects aborts the upstream request', async () => {
    up.answer({ sse: Array.from({ length: 50 }, (_, i) => oa.chunk({ content: `t${i} ` })), gapMs: 100 });
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'up/gpt-x',
        stream: true,
        messages: [{ role: 'user', content: 'long' }],
      }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    const seen = up.seen.at(-1)!;
    await seen.aborted; // resolves only if the gateway closed the upstream connection early
  });

  it('a client that disconnects before a whole answer aborts the upstream request', async () => {
    up.answer({ hang: true });
    const ac = new AbortController();
    const before = up.seen.length;
    const pending = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'up/gpt-x', messages: [{ role: 'user', content: 'never answered' }] }),
      signal: ac.signal,
    });
    await eventually(
      async () => (up.seen.length > before ? true : undefined),
      30_000,
      'the upstream request',
    );
    ac.abort();
    await assert.rejects(pending);
    await up.seen.at(-1)!.aborted; // resolves only if the gateway closed the upstream connection
  });

  it('opens the breaker after 5 consecutive failures, answers 503 at once, shows it in /health and /metrics', async () => {
    down.answer({ status: 500, body: { error: { message: 'boom' } } });
    // 4 attempts per call (1 + 3 retries): two calls make 8 failures, the 5th opened the breaker.
    for (let i = 0; i < 2; i++) {
      const r = await s.request('POST', '/v1/chat/completions', {
        body: { model: 'down/other', messages: [{ role: 'user', content: 'x' }] },
      });
      assert.ok(r.status === 502 || r.status === 503, `got ${r.status}`);
    }
    assert.equal(down.seen.length, 5, 'no call reaches the endpoint once its breaker is open');
    const refused = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'down/other', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(refused.status, 503);
    assert.match(refused.body.error.message, /circuit open/);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal(down.seen.length, 5);

    const health = await s.request('GET', '/health');
    assert.equal(health.body.components.model_providers.status, 'degraded');
    assert.equal(health.body.components.model_providers.detail.breakers.down, 'open');
    // One component per provider: the failing one is degraded with its breaker, the others ok.
    assert.equal(health.body.components['model:down'].status, 'degraded', health.text);
    assert.equal(health.body.components['model:down'].detail.breaker, 'open');
    assert.equal(health.body.components['model:down'].detail.type, 'openai');
    assert.ok(health.body.components['model:down'].detail.retry_in_s > 0);
    assert.equal(health.body.components['model:mock'].status, 'ok');
    assert.equal(health.body.components['model:mock'].detail.breaker, 'closed');
    assert.equal(health.body.overall, 'amber');
    const metrics = await s.request('GET', '/metrics');
    assert.match(metrics.text, /agentry_model_breaker_state\{provider="down"\} 2/);
  });

  it('falls back to the next model when the primary fails or its breaker is open', async () => {
    const c = await client.chat.completions.create({
      model: 'down/model',
      messages: [{ role: 'user', content: 'What is 3+4?' }],
    });
    assert.equal(c.model, 'mock/default');
    assert.equal(c.choices[0]?.message.content, '7');
  });

  it('anthropic: maps messages, tools and results both ways, non-streaming', async () => {
    anth.answer({ status: 200, body: anthropic.toolCompletion });
    const c = await client.chat.completions.create({
      model: 'claude/claude-x',
      tools: [weather],
      tool_choice: 'required',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'weather in Bern' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'toolu_0',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Zug"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_0', content: 'rain' },
      ],
    });
    const msg = c.choices[0]!.message;
    assert.equal(msg.content, 'Let me check.');
    assert.equal(c.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(msg.tool_calls?.[0], {
      id: 'toolu_1',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Bern"}' },
    });
    assert.deepEqual(c.usage, { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 });
    const sent = anth.seen.at(-1)!;
    assert.equal(sent.path, '/v1/messages');
    // This SDK version sends the key as a bearer token; older ones used x-api-key.
    assert.ok(
      [sent.headers['x-api-key'], sent.headers.authorization].some((h) => h?.includes('sk-ant-secret')),
    );
    assert.ok(sent.headers['x-request-id']);
    assert.equal(sent.body.system, 'Be brief.');
    assert.equal(sent.body.max_tokens, 4096);
    assert.deepEqual(sent.body.tool_choice, { type: 'any' });
    assert.deepEqual(sent.body.tools[0].input_schema, weather.function.parameters);
    assert.deepEqual(sent.body.messages[1], {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_0', name: 'get_weather', input: { city: 'Zug' } }],
    });
    assert.deepEqual(sent.body.messages[2], {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_0', content: 'rain' }],
    });
  });

  it('anthropic: streams text and tool input deltas as OpenAI chunks, with usage', async () => {
    anth.answer({
      eventNames: true,
      sse: [
        {
          type: 'message_start',
          message: {
            id: 'msg_2',
            type: 'message',
            role: 'assistant',
            model: 'claude-x',
            content: [],
            stop_reason: null,
            usage: { input_tokens: 25, output_tokens: 1 },
          },
        },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Checking ' } },
        { type: 'content_block_stop', index: 0 },
        {
          type: 'content_block_start',
          index: 1,
          content_block: { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: {} },
        },
        {
          type: 'content_block_delta',
          index: 1,
          delta: { type: 'input_json_delta', partial_json: '{"city":' },
        },
        {
          type: 'content_block_delta',
          index: 1,
          delta: { type: 'input_json_delta', partial_json: '"Chur"}' },
        },
        { type: 'content_block_stop', index: 1 },
        {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { output_tokens: 17 },
        },
        { type: 'message_stop' },
      ],
    });
    const runner = client.chat.completions.stream({
      model: 'claude/claude-x',
      tools: [weather],
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'weather in Chur' }],
    });
    const final = await runner.finalChatCompletion();
    const m = final.choices[0]!.message;
    assert.equal(m.content, 'Checking ');
    const call = m.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.id, 'toolu_9');
    assert.equal(call.function.arguments, '{"city":"Chur"}');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(final.usage, { prompt_tokens: 25, completion_tokens: 17, total_tokens: 42 });
  });
});
