import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from './helpers/fake-upstream.ts';
import { anthropic } from './helpers/vendor-answers.ts';

/** A 1×1 PNG, and a PDF's first bytes: what the gateway passes on is the data, not its meaning. */
const png =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const pdf = Buffer.from('%PDF-1.4\n%fake\n').toString('base64');

const anthropicAnswer = (text: string) => ({ status: 200, body: anthropic.completion(text) });

describe("/v1/messages and /v1/models in Anthropic's shapes, with the official @anthropic-ai/sdk", () => {
  let s: TestServer;
  let client: Anthropic;
  const up = new FakeUpstream();
  const anth = new FakeUpstream();
  before(async () => {
    await Promise.all([up.start(), anth.start()]);
    process.env.TEST_FIDELITY_ANTH_KEY = 'sk-ant-fidelity';
    s = await startServer('pglite', {
      models: {
        retries: { max: 0 },
        providers: {
          up: { type: 'openai', base_url: `${up.url}/v1` },
          claude: { type: 'anthropic', base_url: anth.url, api_key_env: 'TEST_FIDELITY_ANTH_KEY' },
        },
        aliases: { fast: 'mock/default' },
      },
    });
    client = new Anthropic({ baseURL: s.url, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await Promise.all([up.close(), anth.close()]);
  });

  it("lists and retrieves models in Anthropic's shape, and OpenAI's clients still get OpenAI's", async () => {
    const page = await client.models.list();
    assert.ok(page.data.length > 1, JSON.stringify(page.data));
    for (const m of page.data) {
      assert.equal(m.type, 'model');
      assert.equal(m.display_name, m.id);
      assert.ok(!Number.isNaN(Date.parse(m.created_at)));
    }
    const ids = page.data.map((m) => m.id);
    assert.ok(ids.includes('mock/default'));
    // Pages by after_id, as the SDK's auto-pagination asks for them.
    const all: string[] = [];
    for await (const m of client.models.list({ limit: 1 })) all.push(m.id);
    assert.deepEqual(all, ids);
    const one = await client.models.retrieve('mock/default');
    assert.deepEqual(one, {
      type: 'model',
      id: 'mock/default',
      display_name: 'mock/default',
      created_at: '1970-01-01T00:00:00.000Z',
    });
    await assert.rejects(client.models.retrieve('nobody/nothing'), Anthropic.NotFoundError);

    const openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
    const list = await openai.models.list();
    assert.equal(list.data[0]?.object, 'model');
    assert.deepEqual(
      list.data.map((m) => m.id),
      ids,
    );
  });

  it('takes base64 and URL image blocks and hands them to the provider as image parts', async () => {
    up.answer({ status: 200, body: oa.completion('a red dot') });
    const m = await client.messages.create({
      model: 'up/gpt-x',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    assert.deepEqual(m.content, [{ type: 'text', text: 'a red dot' }]);
    assert.deepEqual(up.seen.at(-1)!.body.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
    // The mock reads the text beside an image.
    const mock = await client.messages.create({
      model: 'mock/default',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'text', text: 'describe it' },
          ],
        },
      ],
    });
    assert.deepEqual(mock.content, [{ type: 'text', text: 'You said: describe it' }]);
  });

  it('takes PDF and text documents, a PDF by URL where the provider takes one, and names a bad block', async () => {
    anth.answer(anthropicAnswer('read it'));
    const m = await client.messages.create({
      model: 'claude/claude-x',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
            { type: 'document', source: { type: 'url', url: 'https://example.com/paper.pdf' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain notes' } },
            { type: 'text', text: 'Summarise.' },
          ],
        },
      ],
    });
    assert.deepEqual(m.content, [{ type: 'text', text: 'read it' }]);
    assert.deepEqual(anth.seen.at(-1)!.body.messages[0].content, [
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
      { type: 'document', source: { type: 'url', url: 'https://example.com/paper.pdf' } },
      { type: 'text', text: 'plain notes' },
      { type: 'text', text: 'Summarise.' },
    ]);

    // An OpenAI-compatible model has no PDF-by-URL: a 400 naming the block, the upstream not called.
    const seen = up.seen.length;
    const err = await client.messages
      .create({
        model: 'up/gpt-x',
        max_tokens: 50,
        messages: [
          {
            role: 'user',
            content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/paper.pdf' } }],
          },
        ],
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.BadRequestError, String(err));
    assert.match(err.message, /documents as base64 data, not by URL/);
    assert.equal(up.seen.length, seen);

    const bad = await client.messages
      .create({
        model: 'mock/default',
        max_tokens: 50,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'base64', media_type: 'image/tiff', data: png } }],
          },
        ],
      } as never)
      .catch((e: unknown) => e);
    assert.ok(bad instanceof Anthropic.BadRequestError, String(bad));
    assert.match(bad.message, /messages\.0\.content\.0: image media_type/);
  });

  it('answers a matched stop sequence as stop_sequence with the string, whole and streamed', async () => {
    const params = {
      model: 'mock/default',
      max_tokens: 100,
      stop_sequences: ['END', 'three'],
      messages: [{ role: 'user' as const, content: 'one two three four' }],
    };
    const whole = await client.messages.create(params);
    assert.deepEqual(whole.content, [{ type: 'text', text: 'You said: one two ' }]);
    assert.equal(whole.stop_reason, 'stop_sequence');
    assert.equal(whole.stop_sequence, 'three');

    const stream = client.messages.stream(params);
    let delta: { stop_reason: string | null; stop_sequence: string | null } | undefined;
    for await (const e of stream) if (e.type === 'message_delta') delta = e.delta;
    assert.deepEqual(delta, { stop_reason: 'stop_sequence', stop_sequence: 'three' });
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, 'stop_sequence');
    assert.equal(final.stop_sequence, 'three');

    // No sequence matched: end_turn, as before.
    const plain = await client.messages.create({ ...params, stop_sequences: ['absent'] });
    assert.equal(plain.stop_reason, 'end_turn');
    assert.equal(plain.stop_sequence, null);
  });

  it('takes a stop sequence Anthropic reports, streamed through the gateway', async () => {
    anth.answer({
      sse: [
        {
          type: 'message_start',
          message: {
            id: 'msg_up',
            type: 'message',
            role: 'assistant',
            model: 'claude-x',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 5, output_tokens: 1 },
          },
        },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'one two' } },
        { type: 'content_block_stop', index: 0 },
        {
          type: 'message_delta',
          delta: { stop_reason: 'stop_sequence', stop_sequence: '###' },
          usage: { output_tokens: 3 },
        },
        { type: 'message_stop' },
      ],
      eventNames: true,
    });
    const final = await client.messages
      .stream({
        model: 'claude/claude-x',
        max_tokens: 50,
        stop_sequences: ['###'],
        messages: [{ role: 'user', content: 'count' }],
      })
      .finalMessage();
    assert.equal(final.stop_reason, 'stop_sequence');
    assert.equal(final.stop_sequence, '###');
    assert.deepEqual(anth.seen.at(-1)!.body.stop_sequences, ['###']);
  });

  it('answers output_config.format (and the older output_format) with JSON matching the schema', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: 'integer' } },
      required: ['city', 'population'],
      additionalProperties: false,
    };
    const m = await client.messages.create({
      model: 'mock/default',
      max_tokens: 200,
      output_config: { format: { type: 'json_schema', schema } },
      messages: [{ role: 'user', content: 'The largest city of Switzerland?' }],
    });
    const block = m.content[0];
    assert.ok(block?.type === 'text');
    const answer = JSON.parse(block.text);
    assert.equal(typeof answer.city, 'string');
    assert.ok(Number.isInteger(answer.population));

    const beta = await client.beta.messages.create({
      model: 'mock/default',
      max_tokens: 200,
      output_format: { type: 'json_schema', schema },
      messages: [{ role: 'user', content: 'The largest city of Switzerland?' }],
    });
    const betaBlock = beta.content[0];
    assert.ok(betaBlock?.type === 'text');
    assert.deepEqual(Object.keys(JSON.parse(betaBlock.text)).sort(), ['city', 'population']);

    // An Anthropic model gets the schema as its structured-output tool.
    anth.answer({
      status: 200,
      body: {
        ...anthropicAnswer('').body,
        content: [
          {
            type: 'tool_use',
            id: 'toolu_1',
            name: 'structured_output',
            input: { city: 'Zurich', population: 1 },
          },
        ],
        stop_reason: 'tool_use',
      },
    });
    const claude = await client.messages.create({
      model: 'claude/claude-x',
      max_tokens: 200,
      output_config: { format: { type: 'json_schema', schema } },
      messages: [{ role: 'user', content: 'The largest city of Switzerland?' }],
    });
    assert.deepEqual(claude.content, [{ type: 'text', text: '{"city":"Zurich","population":1}' }]);
    const sent = anth.seen.at(-1)!.body;
    assert.equal(sent.tools[0].name, 'structured_output');
    assert.deepEqual(sent.tools[0].input_schema, schema);

    // What it cannot honour is refused, naming it.
    const topK = await client.messages
      .create({
        model: 'mock/default',
        max_tokens: 50,
        // Not in every version of the SDK's types.
        top_k: 5,
        messages: [{ role: 'user', content: 'hi' }],
      } as never)
      .catch((e: unknown) => e);
    assert.ok(topK instanceof Anthropic.BadRequestError, String(topK));
    assert.match(topK.message, /top_k/);
    const jsonObject = await client.messages
      .create({
        model: 'mock/default',
        max_tokens: 50,
        output_config: { format: { type: 'json_object' } },
        messages: [{ role: 'user', content: 'hi' }],
      } as never)
      .catch((e: unknown) => e);
    assert.ok(jsonObject instanceof Anthropic.BadRequestError, String(jsonObject));
    assert.match(jsonObject.message, /output_config\.format/);
  });
});
