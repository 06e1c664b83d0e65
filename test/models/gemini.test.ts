/**
 * The `gemini` and `vertex` providers against a fake Google on loopback (real HTTP), driven by the
 * official `openai` client through the real server's /v1/chat/completions and /v1/embeddings. The
 * fake checks each request as Google would receive it (path, key or token, body) and replays
 * answers in the shapes Google's APIs send (generateContent, SSE chunks with CRLF, google.rpc errors).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeTokenEndpoint, writeFederationCredentials } from './helpers/fake-google-sts.ts';
import { FakeUpstream } from './helpers/fake-upstream.ts';
import { gemini as g } from './helpers/gemini-wire.ts';

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('gemini and vertex providers against a fake Google over real HTTP', () => {
  let s: TestServer;
  let client: OpenAI;
  const google = new FakeUpstream();
  const vertexApi = new FakeUpstream();
  const sts = new FakeTokenEndpoint();
  const dir = mkdtempSync(join(tmpdir(), 'agentry-adc-'));
  const savedAdc = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  before(async () => {
    await Promise.all([google.start(), vertexApi.start(), sts.start()]);
    // Application Default Credentials as a workload identity federation file: the library trades
    // the subject token for an access token at `token_url`, here the fake STS.
    writeFederationCredentials(dir, 'adc.json', `${sts.url}/v1/token`);
    writeFederationCredentials(dir, 'adc-refused.json', `${sts.url}/v1/refuse`);
    process.env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'adc.json');
    process.env.TEST_GEMINI_KEY = 'AIza-test-key';
    delete process.env.GEMINI_API_KEY;
    s = await startServer('pglite', {
      models: {
        providers: {
          gem: { type: 'gemini', base_url: `${google.url}/v1beta`, api_key_env: 'TEST_GEMINI_KEY' },
          vx: {
            type: 'vertex',
            base_url: `${vertexApi.url}/v1`,
            project: 'my-project-1',
            location: 'europe-west4',
          },
          refused: { type: 'vertex', base_url: `${vertexApi.url}/v1`, project: 'my-project-2' },
        },
        retries: { max: 1, base_ms: 1, max_ms: 2000 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await Promise.all([google.close(), vertexApi.close(), sts.close()]);
    rmSync(dir, { recursive: true, force: true });
    if (savedAdc === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    else process.env.GOOGLE_APPLICATION_CREDENTIALS = savedAdc;
  });

  it('maps a conversation with tools to generateContent, with the key in x-goog-api-key', async () => {
    google.answer({ status: 200, body: g.toolCallAnswer });
    const c = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      tools: [weather],
      tool_choice: 'required',
      max_tokens: 200,
      temperature: 0.2,
      stop: ['END'],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'weather in Bern' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_0',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Zug"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_0', content: '{"sky":"rain"}' },
      ],
    });
    const sent = google.seen.at(-1)!;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(sent.headers['x-goog-api-key'], 'AIza-test-key');
    assert.equal(sent.headers.authorization, undefined);
    assert.deepEqual(sent.body, {
      contents: [
        { role: 'user', parts: [{ text: 'weather in Bern' }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Zug' } } }] },
        {
          role: 'user',
          parts: [{ functionResponse: { name: 'get_weather', response: { output: { sky: 'rain' } } } }],
        },
      ],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_weather',
              description: 'Weather for a city',
              parametersJsonSchema: weather.function.parameters,
            },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
      generationConfig: { stopSequences: ['END'], maxOutputTokens: 200, temperature: 0.2 },
    });
    const msg = c.choices[0]!.message;
    assert.equal(c.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(msg.content, 'Let me check.');
    const call = msg.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.deepEqual(call.type === 'function' && call.function, {
      name: 'get_weather',
      arguments: '{"city":"Bern"}',
    });
    // Thoughts are not the answer; their tokens are billed as output and kept in the details.
    assert.deepEqual(c.usage, {
      prompt_tokens: 40,
      completion_tokens: 27,
      total_tokens: 67,
      completion_tokens_details: { reasoning_tokens: 15 },
    });

    // The call's thought signature travels in its id and goes back with the call, as Gemini 3 needs.
    google.answer({ status: 200, body: g.textAnswer('Bern: sunny.') });
    const c2 = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      tools: [weather],
      messages: [
        { role: 'user', content: 'weather in Bern' },
        msg,
        { role: 'tool', tool_call_id: call.id, content: 'sunny' },
      ],
    });
    assert.equal(c2.choices[0]!.message.content, 'Bern: sunny.');
    assert.equal(c2.choices[0]!.finish_reason, 'stop');
    assert.deepEqual(google.seen.at(-1)!.body.contents.slice(1), [
      {
        role: 'model',
        parts: [
          { text: 'Let me check.' },
          {
            functionCall: { name: 'get_weather', args: { city: 'Bern' } },
            thoughtSignature: g.signature,
          },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'sunny' } } }] },
    ]);
    // The gateway's default token limit went out as maxOutputTokens.
    assert.equal(google.seen.at(-1)!.body.generationConfig.maxOutputTokens, 4096);
  });

  it('streams text and a function call from streamGenerateContent?alt=sse, with usage', async () => {
    google.answer({ pieces: g.sse(g.streamed), contentType: 'text/event-stream', gapMs: 0 });
    const stream = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      stream: true,
      stream_options: { include_usage: true },
      tools: [weather],
      messages: [{ role: 'user', content: 'weather in Bern and Zug' }],
    });
    let text = '';
    const calls: Array<{ id?: string; name?: string; args: string }> = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? '';
      for (const tc of choice?.delta.tool_calls ?? []) {
        calls[tc.index] ??= { args: '' };
        if (tc.id) calls[tc.index]!.id = tc.id;
        if (tc.function?.name) calls[tc.index]!.name = tc.function.name;
        calls[tc.index]!.args += tc.function?.arguments ?? '';
      }
      finish = choice?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    const sent = google.seen.at(-1)!;
    assert.equal(sent.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    assert.equal(sent.headers['x-goog-api-key'], 'AIza-test-key');
    assert.deepEqual(sent.body.contents, [{ role: 'user', parts: [{ text: 'weather in Bern and Zug' }] }]);
    assert.equal(text, 'Checking both cities.');
    assert.deepEqual(
      calls.map((c) => [c.name, c.args]),
      [
        ['get_weather', '{"city":"Bern"}'],
        ['get_weather', '{"city":"Zug"}'],
      ],
    );
    assert.ok(calls.every((c) => c.id?.startsWith('call_')));
    assert.notEqual(calls[0]!.id, calls[1]!.id);
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(
      usage && [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens],
      [22, 31, 53],
    );
  });

  it('asks for JSON by the answer format, its 2020-12 schema as responseJsonSchema', async () => {
    google.answer({ status: 200, body: g.textAnswer('{"city":"Bern","celsius":21}') });
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { city: { type: 'string' }, celsius: { type: 'number' } },
      required: ['city', 'celsius'],
      additionalProperties: false,
    };
    const c = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      response_format: { type: 'json_schema', json_schema: { name: 'reading', schema, strict: true } },
      messages: [{ role: 'user', content: 'the weather in Bern as JSON' }],
    });
    assert.deepEqual(JSON.parse(c.choices[0]!.message.content!), { city: 'Bern', celsius: 21 });
    const { $schema: _, ...withoutDialect } = schema;
    assert.deepEqual(google.seen.at(-1)!.body.generationConfig, {
      maxOutputTokens: 4096,
      responseMimeType: 'application/json',
      responseJsonSchema: withoutDialect,
    });
    google.answer({ status: 200, body: g.textAnswer('{"ok":true}') });
    await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'JSON please' }],
    });
    assert.equal(google.seen.at(-1)!.body.generationConfig.responseMimeType, 'application/json');
    assert.equal(google.seen.at(-1)!.body.generationConfig.responseJsonSchema, undefined);
  });

  it('answers 429 RESOURCE_EXHAUSTED with the RetryInfo delay as Retry-After', async () => {
    google.answer({
      status: 429,
      body: g.error(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota', '43s'),
    });
    const before = google.seen.length;
    const err = await client.chat.completions
      .create({ model: 'gem/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.headers?.get('retry-after'), '43');
    assert.match(err.message, /You exceeded your current quota/);
    // 43 s is past retries.max_ms: handed back at once rather than waited for in-line.
    assert.equal(google.seen.length - before, 1);
  });

  it('retries a short RetryInfo delay and a 503, then answers', async () => {
    google.answer(
      { status: 429, body: g.error(429, 'RESOURCE_EXHAUSTED', 'Resource exhausted', '0s') },
      { status: 200, body: g.textAnswer('after the wait') },
    );
    const before = google.seen.length;
    const c = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(c.choices[0]!.message.content, 'after the wait');
    assert.equal(google.seen.length - before, 2);
    google.answer(
      { status: 503, body: g.error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.') },
      { status: 200, body: g.textAnswer('back') },
    );
    const c2 = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(c2.choices[0]!.message.content, 'back');
  });

  it('samples again when Gemini ends on a malformed function call', async () => {
    google.answer(
      {
        status: 200,
        body: {
          candidates: [{ content: { role: 'model' }, finishReason: 'MALFORMED_FUNCTION_CALL', index: 0 }],
        },
      },
      { status: 200, body: g.toolCallAnswer },
    );
    const before = google.seen.length;
    const c = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      tools: [weather],
      messages: [{ role: 'user', content: 'weather in Bern' }],
    });
    assert.equal(c.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(google.seen.length - before, 2);
  });

  it('maps 400 INVALID_ARGUMENT to 400, 403 PERMISSION_DENIED and 5xx to 502', async () => {
    google.answer({
      status: 400,
      body: g.error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unknown name "foo"'),
    });
    const bad = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'gem/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /Invalid JSON payload received/);
    google.answer({
      status: 403,
      body: g.error(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers"),
    });
    const denied = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'gem/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(denied.status, 502);
    assert.match(denied.body.error.message, /403/);
    google.answer({ status: 500, body: g.error(500, 'INTERNAL', 'An internal error has occurred.') });
    const before = google.seen.length;
    const down = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'gem/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(down.status, 502);
    assert.equal(google.seen.length - before, 2, 'a 5xx is retried (retries.max 1)');
  });

  it('ends a stream that stops before a finishReason with an error, and one Gemini blocked as content_filter', async () => {
    google.answer({ pieces: g.sse([g.streamed[0]]), contentType: 'text/event-stream', gapMs: 0 });
    const cut = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    await assert.rejects(async () => {
      for await (const _ of cut);
    });
    google.answer({ status: 200, body: g.blocked });
    const c = await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      messages: [{ role: 'user', content: 'something unsafe' }],
    });
    assert.equal(c.choices[0]!.finish_reason, 'content_filter');
    assert.equal(c.choices[0]!.message.content, '');
  });

  it('refuses what Gemini cannot take with a 400 naming it, before any call', async () => {
    const before = google.seen.length;
    const logprobs = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'gem/gemini-2.5-flash', logprobs: true, messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(logprobs.status, 400);
    assert.equal(logprobs.body.error.param, 'logprobs');
    const byUrl = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: 'gem/gemini-2.5-flash',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }],
          },
        ],
      },
    });
    assert.equal(byUrl.status, 400);
    assert.equal(byUrl.body.error.param, 'messages[0].content[0]');
    const walk = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'gem/..%2F..%2Fother', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(walk.status, 400);
    assert.equal(google.seen.length, before);
  });

  it('sends images as inlineData and the seed and penalties in generationConfig', async () => {
    google.answer({ status: 200, body: g.textAnswer('a cat') });
    await client.chat.completions.create({
      model: 'gem/gemini-2.5-flash',
      seed: 7,
      presence_penalty: 0.5,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    const sent = google.seen.at(-1)!.body;
    assert.deepEqual(sent.contents[0].parts, [
      { text: 'what is this?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
    assert.equal(sent.generationConfig.seed, 7);
    assert.equal(sent.generationConfig.presencePenalty, 0.5);
  });

  it('a caller that goes away cancels the call upstream', async () => {
    google.answer({ hang: true });
    const before = google.seen.length;
    const ac = new AbortController();
    const pending = client.chat.completions
      .create(
        { model: 'gem/gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'x' }] },
        { signal: ac.signal },
      )
      .catch((e: unknown) => e);
    const seen = await eventually(async () => google.seen[before], 30_000, 'the upstream call');
    ac.abort();
    await pending;
    await seen.aborted;
  });

  it('embeds a batch with batchEmbedContents', async () => {
    google.answer({ status: 200, body: { embeddings: [{ values: [0.5, 0.25] }, { values: [0.125, -1] }] } });
    const e = await client.embeddings.create({
      model: 'gem/gemini-embedding-001',
      input: ['one', 'two'],
      dimensions: 2,
    });
    assert.deepEqual(
      e.data.map((d) => d.embedding),
      [
        [0.5, 0.25],
        [0.125, -1],
      ],
    );
    const sent = google.seen.at(-1)!;
    assert.equal(sent.path, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
    assert.deepEqual(sent.body, {
      requests: ['one', 'two'].map((text) => ({
        model: 'models/gemini-embedding-001',
        content: { parts: [{ text }] },
        outputDimensionality: 2,
      })),
    });
  });

  it("an agent's run calls its tool through Gemini and sends the call back with its signature", async () => {
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'gemini-calc', model: 'gem/gemini-2.5-flash', tools: ['calculator'] },
    });
    assert.equal(agent.status, 201, agent.text);
    google.answer(
      {
        status: 200,
        body: {
          ...g.toolCallAnswer,
          candidates: [
            {
              content: {
                role: 'model',
                parts: [
                  {
                    functionCall: { name: 'calculator', args: { expression: '6 * 7' } },
                    thoughtSignature: g.signature,
                  },
                ],
              },
              finishReason: 'STOP',
            },
          ],
        },
      },
      { status: 200, body: g.textAnswer('6 * 7 is 42.') },
    );
    const before = google.seen.length;
    const run = await s.request('POST', `/v1/agents/${agent.body.id}/chat`, {
      body: { message: 'what is 6 * 7?', stream: false },
    });
    assert.equal(run.status, 200, run.text);
    assert.match(JSON.stringify(run.body), /6 \* 7 is 42\./);
    assert.equal(google.seen.length - before, 2);
    const second = google.seen.at(-1)!.body;
    assert.deepEqual(second.contents.slice(-2), [
      {
        role: 'model',
        parts: [
          {
            functionCall: { name: 'calculator', args: { expression: '6 * 7' } },
            thoughtSignature: g.signature,
          },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'calculator', response: { output: '42' } } }] },
    ]);
    assert.equal(second.tools[0].functionDeclarations[0].name, 'calculator');
  });

  it('serves the Messages door too (the Anthropic SDK), streamed', async () => {
    google.answer({ pieces: g.sse(g.streamedText), contentType: 'text/event-stream', gapMs: 0 });
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
    const stream = anthropic.messages.stream({
      model: 'gem/gemini-2.5-flash',
      max_tokens: 100,
      system: 'Be warm.',
      messages: [{ role: 'user', content: 'greet me' }],
    });
    const message = await stream.finalMessage();
    assert.deepEqual(message.content, [{ type: 'text', text: 'Hello there, friend.' }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.deepEqual([message.usage.input_tokens, message.usage.output_tokens], [3, 5]);
    const sent = google.seen.at(-1)!;
    assert.equal(sent.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    assert.deepEqual(sent.body, {
      contents: [{ role: 'user', parts: [{ text: 'greet me' }] }],
      systemInstruction: { parts: [{ text: 'Be warm.' }] },
      generationConfig: { maxOutputTokens: 100 },
    });
  });

  it('the built-in gemini provider without GEMINI_API_KEY is a 404 naming it, never a call', async () => {
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 404);
    assert.match(res.body.error.message, /GEMINI_API_KEY/);
  });

  it('vertex: the same body at the project URL, with a Bearer token from ADC, whole and streamed', async () => {
    vertexApi.answer({ status: 200, body: g.textAnswer('hello from Vertex') });
    const c = await client.chat.completions.create({
      model: 'vx/gemini-2.5-pro',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
    });
    assert.equal(c.choices[0]!.message.content, 'hello from Vertex');
    const sent = vertexApi.seen.at(-1)!;
    assert.equal(
      sent.path,
      '/v1/projects/my-project-1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent',
    );
    assert.equal(sent.headers.authorization, 'Bearer ya29.fake-vertex-token');
    assert.equal(sent.headers['x-goog-api-key'], undefined);
    assert.deepEqual(sent.body, {
      contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 4096 },
    });
    // The platform's subject token was exchanged once at the STS endpoint the credentials file names.
    assert.equal(sts.seen.length, 1);
    assert.equal(sts.seen[0]!.get('subject_token'), 'subject-jwt-from-the-platform');
    assert.equal(sts.seen[0]!.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');

    vertexApi.answer({ pieces: g.sse(g.streamedText), contentType: 'text/event-stream', gapMs: 0 });
    const stream = await client.chat.completions.create({
      model: 'vx/gemini-2.5-pro',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'Hello there, friend.');
    assert.equal(
      vertexApi.seen.at(-1)!.path,
      '/v1/projects/my-project-1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    );
    assert.equal(vertexApi.seen.at(-1)!.headers.authorization, 'Bearer ya29.fake-vertex-token');
    // The token is cached until it nears its expiry.
    assert.equal(sts.seen.length, 1);
  });

  it('vertex: embeds with predict', async () => {
    vertexApi.answer({
      status: 200,
      body: {
        predictions: [
          { embeddings: { values: [1, 0], statistics: { token_count: 3, truncated: false } } },
          { embeddings: { values: [0, 1], statistics: { token_count: 4, truncated: false } } },
        ],
      },
    });
    const e = await client.embeddings.create({
      model: 'vx/gemini-embedding-001',
      input: ['a b c', 'd e f g'],
    });
    assert.deepEqual(e.data[1]!.embedding, [0, 1]);
    assert.equal(e.usage.prompt_tokens, 7);
    const sent = vertexApi.seen.at(-1)!;
    assert.equal(
      sent.path,
      '/v1/projects/my-project-1/locations/europe-west4/publishers/google/models/gemini-embedding-001:predict',
    );
    assert.deepEqual(sent.body, { instances: [{ content: 'a b c' }, { content: 'd e f g' }] });
  });

  it('vertex: credentials the token endpoint refuses are a 502 that says so, not retried, never a call', async () => {
    const seen = { sts: sts.seen.length, vertex: vertexApi.seen.length };
    // Each vertex endpoint reads Application Default Credentials at its first call.
    process.env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'adc-refused.json');
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'refused/gemini-2.5-pro', messages: [{ role: 'user', content: 'hi' }] },
    });
    process.env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'adc.json');
    assert.equal(res.status, 502, res.text);
    assert.match(res.body.error.message, /Vertex AI credentials \(Application Default Credentials\)/);
    assert.equal(sts.seen.length - seen.sts, 1, 'refused credentials are not retried');
    assert.equal(vertexApi.seen.length, seen.vertex);
  });
});
