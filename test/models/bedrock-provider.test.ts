import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';
import { converse, FakeBedrock, type SeenBedrockRequest } from './helpers/fake-bedrock.ts';

const CLAUDE = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const PROFILE = 'us.anthropic.claude-3-5-sonnet-20241022-v2:0';
const KEY_ID = 'AKIDAGENTRYTEST00001';

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The SigV4 signature the AWS SDK computed: its shape, its scope, its date, the body it signed. */
function assertSigned(seen: SeenBedrockRequest, keyIdWanted = KEY_ID, regionWanted = 'us-east-1') {
  const auth = String(seen.headers.authorization);
  const m =
    /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/bedrock\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  assert.ok(m, `authorization: ${auth}`);
  const [, keyId, date, region, signed] = m;
  assert.equal(keyId, keyIdWanted);
  assert.equal(region, regionWanted);
  assert.equal(date, String(seen.headers['x-amz-date']).slice(0, 8));
  assert.match(String(seen.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
  const names = signed!.split(';');
  for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256', 'content-type', 'x-request-id']) {
    assert.ok(names.includes(h), `${h} signed: ${signed}`);
  }
  assert.deepEqual([...names].sort(), names, 'signed headers are sorted');
  // The secret never travels; a session token would, and none was given.
  assert.ok(!JSON.stringify(seen.headers).includes('agentry-test-secret'));
  assert.equal(seen.headers['x-amz-security-token'], undefined);
  assert.equal(
    seen.headers['x-amz-content-sha256'],
    seen.bodySha256,
    'the signed payload hash is the body’s',
  );
}

describe('bedrock: Converse and ConverseStream against a recorded-wire fake over real HTTP', () => {
  let s: TestServer;
  let client: OpenAI;
  const fake = new FakeBedrock();
  const saved: Record<string, string | undefined> = {};
  // A profile in AWS's shared files, as `aws configure` writes them; no instance metadata to ask.
  const awsDir = mkdtempSync(path.join(tmpdir(), 'agentry-aws-'));
  writeFileSync(
    path.join(awsDir, 'credentials'),
    '[agentry-test]\naws_access_key_id = AKIDPROFILE000000001\naws_secret_access_key = profile-secret\n',
  );
  writeFileSync(path.join(awsDir, 'config'), '[profile agentry-test]\noutput = json\n');
  const awsEnv = {
    AWS_SHARED_CREDENTIALS_FILE: path.join(awsDir, 'credentials'),
    AWS_CONFIG_FILE: path.join(awsDir, 'config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: 'agentry-test-secret',
    AWS_REGION: 'us-east-1',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_BEARER_TOKEN_BEDROCK: undefined,
  };

  before(async () => {
    await fake.start();
    // The fake checks every signature made with these keys, as Bedrock does.
    fake.secrets.set(KEY_ID, 'agentry-test-secret');
    fake.secrets.set('AKIDPROFILE000000001', 'profile-secret');
    // The standard variables the AWS SDK's credential chain reads first, as an operator sets them.
    for (const [k, v] of Object.entries(awsEnv)) {
      saved[k] = process.env[k];
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    s = await startServer('pglite', {
      models: {
        providers: {
          bedrock: { type: 'bedrock', base_url: fake.url },
          // The region in config wins over AWS_REGION (which wins over a profile's, as the SDK has it).
          'bedrock-eu': { type: 'bedrock', base_url: fake.url, profile: 'agentry-test', region: 'eu-west-1' },
          'bedrock-nobody': { type: 'bedrock', base_url: fake.url, profile: 'absent', region: 'us-west-2' },
          'bedrock-nowhere': { type: 'bedrock', base_url: fake.url },
        },
        retries: { max: 2, base_ms: 1, max_ms: 5 },
      },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await fake.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(awsDir, { recursive: true, force: true });
  });

  it('maps a whole answer: signed request to /model/<id>/converse, system, inference config, usage', async () => {
    fake.answer({ json: converse.answer([{ text: 'Hello from Bedrock.' }], 'end_turn') });
    const before = fake.seen.length;
    const { data, response } = await client.chat.completions
      .create({
        model: `bedrock/${CLAUDE}`,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
        ],
        max_tokens: 20,
        temperature: 0.2,
        top_p: 0.9,
        stop: ['END'],
      })
      .withResponse();
    assert.equal(data.choices[0]?.message.content, 'Hello from Bedrock.');
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.equal(data.model, `bedrock/${CLAUDE}`);
    assert.deepEqual(data.usage, { prompt_tokens: 25, completion_tokens: 9, total_tokens: 34 });
    assert.equal(fake.seen.length - before, 1);
    const seen = fake.seen.at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, `/model/${encodeURIComponent(CLAUDE)}/converse`);
    assertSigned(seen);
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['x-request-id'], response.headers.get('x-request-id'));
    assert.deepEqual(seen.body, {
      messages: [{ role: 'user', content: [{ text: 'hi' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 20, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
  });

  it('maps tools both ways: toolConfig, toolUse and toolResult blocks, tool calls back', async () => {
    fake.answer({
      json: converse.answer(
        [
          { text: 'Let me look.' },
          { toolUse: { toolUseId: 'tooluse_kZJMlvQm', name: 'get_weather', input: { city: 'Rome' } } },
        ],
        'tool_use',
        { inputTokens: 410, outputTokens: 60 },
      ),
    });
    const c = await client.chat.completions.create({
      model: `bedrock/${CLAUDE}`,
      tools: [weather],
      tool_choice: 'required',
      messages: [
        { role: 'user', content: 'Weather in Paris, then Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'tooluse_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'tooluse_1', content: '18°C, cloudy' },
      ],
    });
    const call = c.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.deepEqual(
      { id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) },
      { id: 'tooluse_kZJMlvQm', name: 'get_weather', args: { city: 'Rome' } },
    );
    assert.equal(c.choices[0]?.message.content, 'Let me look.');
    assert.equal(c.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(c.usage, { prompt_tokens: 410, completion_tokens: 60, total_tokens: 470 });
    const body = fake.seen.at(-1)!.body;
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ text: 'Weather in Paris, then Rome?' }] },
      {
        role: 'assistant',
        content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Paris' } } }],
      },
      {
        role: 'user',
        content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ text: '18°C, cloudy' }] } }],
      },
    ]);
    assert.deepEqual(body.toolConfig, {
      tools: [
        {
          toolSpec: {
            name: 'get_weather',
            description: 'Weather by city',
            inputSchema: { json: weather.function.parameters },
          },
        },
      ],
      toolChoice: { any: {} },
    });
  });

  it('streams text from the event stream (/converse-stream) with usage, for an inference profile id', async () => {
    fake.answer({
      events: [
        { messageStart: { role: 'assistant' } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hello' } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: ' from the' } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: ' stream.' } } },
        { contentBlockStop: { contentBlockIndex: 0 } },
        ...converse.end('end_turn', { inputTokens: 12, outputTokens: 5 }),
      ],
    });
    const stream = await client.chat.completions.create({
      model: `bedrock/${PROFILE}`,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    const finishes: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'Hello from the stream.');
    assert.deepEqual(finishes, ['stop']);
    assert.deepEqual(usage, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    const seen = fake.seen.at(-1)!;
    assert.equal(seen.path, `/model/${encodeURIComponent(PROFILE)}/converse-stream`);
    assertSigned(seen);
    assert.deepEqual(seen.body.messages, [{ role: 'user', content: [{ text: 'hi' }] }]);
  });

  it('streams tool use: contentBlockStart names the tool, deltas carry its input', async () => {
    fake.answer({
      events: [
        { messageStart: { role: 'assistant' } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Checking.' } } },
        { contentBlockStop: { contentBlockIndex: 0 } },
        {
          contentBlockStart: {
            contentBlockIndex: 1,
            start: { toolUse: { toolUseId: 'tooluse_s1', name: 'get_weather' } },
          },
        },
        { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } } },
        { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"Rome"}' } } } },
        { contentBlockStop: { contentBlockIndex: 1 } },
        ...converse.end('tool_use', { inputTokens: 300, outputTokens: 40 }),
      ],
    });
    const runner = client.chat.completions.stream({
      model: `bedrock/${CLAUDE}`,
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'weather in Rome?' }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.equal(call.id, 'tooluse_s1');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(call.function.arguments, '{"city":"Rome"}');
    assert.equal(final.choices[0]?.message.content, 'Checking.');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(final.usage?.prompt_tokens, 300);
    assert.deepEqual(fake.seen.at(-1)!.body.toolConfig.toolChoice, { tool: { name: 'get_weather' } });
  });

  it('a profile from the shared files signs with its own key, in the configured region; a profile nowhere is a 502', async () => {
    fake.answer({ json: converse.answer([{ text: 'from the profile' }], 'end_turn') });
    const c = await client.chat.completions.create({
      model: `bedrock-eu/${CLAUDE}`,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(c.choices[0]?.message.content, 'from the profile');
    assertSigned(fake.seen.at(-1)!, 'AKIDPROFILE000000001', 'eu-west-1');

    const before = fake.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: `bedrock-nobody/${CLAUDE}`, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(res.status, 502, res.text);
    assert.match(res.body.error.message, /no AWS credentials/);
    assert.equal(fake.seen.length, before, 'nothing unsigned is sent');

    // No region in config, in AWS_REGION or in a profile: the answer says where to set one.
    delete process.env.AWS_REGION;
    try {
      const nowhere = await s.request('POST', '/v1/chat/completions', {
        body: { model: `bedrock-nowhere/${CLAUDE}`, messages: [{ role: 'user', content: 'hi' }] },
      });
      assert.equal(nowhere.status, 502, nowhere.text);
      assert.match(nowhere.body.error.message, /no AWS region: set `region` on the provider/);
    } finally {
      process.env.AWS_REGION = awsEnv.AWS_REGION;
    }
    assert.equal(fake.seen.length, before);
  });

  it('sends a json_schema response_format as outputConfig.textFormat, and images and PDFs as bytes', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64');
    const pdf = Buffer.from('%PDF-1.4 test').toString('base64');
    fake.answer({ json: converse.answer([{ text: '{"city":"Rome","celsius":21}' }], 'end_turn') });
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, celsius: { type: 'number' } },
      required: ['city', 'celsius'],
      additionalProperties: false,
    };
    const c = await client.chat.completions.create({
      model: `bedrock/${CLAUDE}`,
      response_format: { type: 'json_schema', json_schema: { name: 'reading', schema } },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Read the chart and the report.' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            {
              type: 'file',
              file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` },
            },
          ],
        },
      ],
    });
    assert.deepEqual(JSON.parse(c.choices[0]?.message.content ?? ''), { city: 'Rome', celsius: 21 });
    const body = fake.seen.at(-1)!.body;
    assert.deepEqual(body.outputConfig, {
      textFormat: {
        type: 'json_schema',
        structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'reading' } },
      },
    });
    // Blobs travel base64-encoded in restJson1, as Bedrock's own clients send them.
    assert.deepEqual(body.messages[0].content, [
      { text: 'Read the chart and the report.' },
      { image: { format: 'png', source: { bytes: png } } },
      { document: { format: 'pdf', name: 'document 1', source: { bytes: pdf } } },
    ]);
  });

  it('ThrottlingException (429) is retried, then answered as 429 with Retry-After; a retry that succeeds answers', async () => {
    const throttled = {
      status: 429,
      errorType: 'ThrottlingException',
      message: 'Too many requests, please wait before trying again.',
    };
    fake.answer(throttled);
    let before = fake.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: `bedrock/${CLAUDE}`, messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 429, res.text);
    assert.equal(res.body.error.type, 'rate_limit_error');
    assert.match(res.body.error.message, /ThrottlingException: Too many requests/);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal(fake.seen.length - before, 3, 'the first attempt and two retries');

    fake.answer(throttled, { json: converse.answer([{ text: 'second time lucky' }], 'end_turn') });
    before = fake.seen.length;
    const ok = await client.chat.completions.create({
      model: `bedrock/${CLAUDE}`,
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(ok.choices[0]?.message.content, 'second time lucky');
    assert.equal(fake.seen.length - before, 2);
  });

  it('ServiceUnavailableException (503) is retried; ModelTimeoutException, retried in vain, is a 504', async () => {
    fake.answer(
      { status: 503, errorType: 'ServiceUnavailableException', message: 'Service unavailable. Try again.' },
      { json: converse.answer([{ text: 'back' }], 'end_turn') },
    );
    let before = fake.seen.length;
    const ok = await client.chat.completions.create({
      model: `bedrock/${CLAUDE}`,
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(ok.choices[0]?.message.content, 'back');
    assert.equal(fake.seen.length - before, 2);

    fake.answer({ status: 408, errorType: 'ModelTimeoutException', message: 'Model has timed out.' });
    before = fake.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: `bedrock/${CLAUDE}`, messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 504, res.text);
    assert.match(res.body.error.message, /ModelTimeoutException: Model has timed out/);
    assert.equal(fake.seen.length - before, 3);
  });

  it('ValidationException (400) is the caller’s mistake: answered as 400 at once, never retried', async () => {
    fake.answer({
      status: 400,
      errorType: 'ValidationException',
      message: 'The model returned the following errors: temperature: range: 0..1',
    });
    const before = fake.seen.length;
    const err = await client.chat.completions
      .create({ model: `bedrock/${CLAUDE}`, temperature: 1.5, messages: [{ role: 'user', content: 'x' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.match(err.message, /ValidationException: The model returned the following errors/);
    assert.equal(fake.seen.length - before, 1);
  });

  it('AccessDeniedException (403) is the operator’s setup, not the caller’s: 502, not retried', async () => {
    fake.answer({
      status: 403,
      errorType: 'AccessDeniedException',
      message: "You don't have access to the model",
    });
    const before = fake.seen.length;
    const res = await s.request('POST', '/v1/chat/completions', {
      body: { model: `bedrock/${CLAUDE}`, messages: [{ role: 'user', content: 'x' }] },
    });
    assert.equal(res.status, 502, res.text);
    assert.match(res.body.error.message, /AccessDeniedException/);
    assert.equal(fake.seen.length - before, 1);
  });

  it('an exception inside the event stream ends the answer with an error after the text before it', async () => {
    fake.answer({
      events: [
        { messageStart: { role: 'assistant' } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'partial ' } } },
        { exception: 'modelStreamErrorException', message: 'the model stopped' },
        ...converse.end('end_turn'),
      ],
    });
    const stream = await client.chat.completions.create({
      model: `bedrock/${CLAUDE}`,
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
      (err: unknown) => err instanceof OpenAI.APIError && /the model stopped/.test(err.message),
    );
    assert.equal(text, 'partial ');
    assert.deepEqual(finishes, []);
  });

  it('a client that disconnects mid-stream aborts the upstream request', async () => {
    fake.answer({
      events: [
        { messageStart: { role: 'assistant' } },
        ...Array.from({ length: 50 }, (_, i) => ({
          contentBlockDelta: { contentBlockIndex: 0, delta: { text: `t${i} ` } },
        })),
        ...converse.end('end_turn'),
      ],
      gapMs: 100,
    });
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: `bedrock/${CLAUDE}`,
        stream: true,
        messages: [{ role: 'user', content: 'long' }],
      }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await fake.seen.at(-1)!.aborted; // resolves only if the gateway closed the upstream connection early
  });

  it('a client that disconnects before a whole answer aborts the upstream request', async () => {
    fake.answer({ hang: true });
    const before = fake.seen.length;
    const ac = new AbortController();
    const pending = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: `bedrock/${CLAUDE}`,
        messages: [{ role: 'user', content: 'never answered' }],
      }),
      signal: ac.signal,
    });
    await eventually(
      async () => (fake.seen.length > before ? true : undefined),
      20_000,
      'the upstream request',
    );
    ac.abort();
    await assert.rejects(pending);
    await fake.seen.at(-1)!.aborted;
  });

  it('refuses what Converse cannot take with a 400 naming it, before any call', async () => {
    const before = fake.seen.length;
    const none = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: `bedrock/${CLAUDE}`,
        tools: [weather],
        tool_choice: 'none',
        messages: [{ role: 'user', content: 'x' }],
      },
    });
    assert.equal(none.status, 400, none.text);
    assert.equal(none.body.error.param, 'tool_choice');
    const image = await s.request('POST', '/v1/chat/completions', {
      body: {
        model: `bedrock/${CLAUDE}`,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }],
          },
        ],
      },
    });
    assert.equal(image.status, 400, image.text);
    assert.equal(image.body.error.param, 'messages[0].content[0]');
    assert.equal(fake.seen.length, before);
  });

  it('serves the Messages door too: Anthropic’s SDK streams a Bedrock answer with its stop reason and usage', async () => {
    fake.answer({
      events: [
        { messageStart: { role: 'assistant' } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Bonjour' } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: ' !' } } },
        { contentBlockStop: { contentBlockIndex: 0 } },
        ...converse.end('max_tokens', { inputTokens: 14, outputTokens: 2 }),
      ],
    });
    const anthropic = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
    const message = await anthropic.messages
      .stream({
        model: `bedrock/${CLAUDE}`,
        max_tokens: 2,
        system: 'Answer in French.',
        messages: [{ role: 'user', content: 'Hello' }],
      })
      .finalMessage();
    assert.deepEqual(message.content, [{ type: 'text', text: 'Bonjour !' }]);
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.output_tokens, 2);
    const body = fake.seen.at(-1)!.body;
    assert.deepEqual(body.system, [{ text: 'Answer in French.' }]);
    assert.equal(body.inferenceConfig.maxTokens, 2);
  });

  it('an agent whose model is bedrock/… chats through it, tool call and result included', async () => {
    const agent = await createAgent(s, {
      name: 'bedrock-calc',
      model: `bedrock/${CLAUDE}`,
      tools: ['calculator'],
      system_prompt: 'Use the calculator.',
    });
    fake.answer(
      {
        json: converse.answer(
          [{ toolUse: { toolUseId: 'tooluse_calc', name: 'calculator', input: { expression: '6*7' } } }],
          'tool_use',
        ),
      },
      { json: converse.answer([{ text: 'It is 42.' }], 'end_turn') },
    );
    const before = fake.seen.length;
    const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
      body: { message: 'What is 6 * 7?', stream: false },
    });
    assert.equal(res.status, 200, res.text);
    assert.match(JSON.stringify(res.body), /It is 42\./);
    const [first, second] = fake.seen.slice(before);
    assert.ok(first && second, `two model calls, saw ${fake.seen.length - before}`);
    assertSigned(second);
    assert.equal(first.path, `/model/${encodeURIComponent(CLAUDE)}/converse`);
    assert.equal(first.body.system[0].text.includes('Use the calculator.'), true);
    assert.equal(first.body.toolConfig.tools[0].toolSpec.name, 'calculator');
    assert.deepEqual(second.body.messages.slice(-2), [
      {
        role: 'assistant',
        content: [
          { toolUse: { toolUseId: 'tooluse_calc', name: 'calculator', input: { expression: '6*7' } } },
        ],
      },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_calc', content: [{ text: '42' }] } }] },
    ]);
  });
});
