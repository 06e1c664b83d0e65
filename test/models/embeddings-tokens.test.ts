import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FakeUpstream } from './helpers/fake-upstream.ts';

/** OpenAI's embeddings take token ids (`number[]`, `number[][]`) as well as text. */
describe('embeddings of token-array input, with the official openai client', () => {
  let s: TestServer;
  let client: OpenAI;
  const up = new FakeUpstream();
  before(async () => {
    await up.start();
    s = await startServer('pglite', {
      models: { providers: { up: { type: 'openai', base_url: `${up.url}/v1` } } },
    });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
  });
  after(async () => {
    await s.close();
    await up.close();
  });

  it('passes token arrays unchanged to an OpenAI-compatible provider', async () => {
    up.answer({
      status: 200,
      body: {
        object: 'list',
        data: [
          { object: 'embedding', index: 0, embedding: [0.5, 0.5] },
          { object: 'embedding', index: 1, embedding: [1, 0] },
        ],
        model: 'emb-x',
        usage: { prompt_tokens: 5, total_tokens: 5 },
      },
    });
    const res = await client.embeddings.create({
      model: 'up/emb-x',
      input: [
        [9906, 1917],
        [15339, 1070, 11],
      ],
      encoding_format: 'float',
    });
    assert.deepEqual(
      res.data.map((d) => d.embedding),
      [
        [0.5, 0.5],
        [1, 0],
      ],
    );
    assert.deepEqual(up.seen.at(-1)!.body.input, [
      [9906, 1917],
      [15339, 1070, 11],
    ]);

    up.answer({
      status: 200,
      body: {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: [1, 0] }],
        model: 'emb-x',
        usage: { prompt_tokens: 2, total_tokens: 2 },
      },
    });
    await client.embeddings.create({ model: 'up/emb-x', input: [9906, 1917], encoding_format: 'float' });
    assert.deepEqual(up.seen.at(-1)!.body.input, [[9906, 1917]]);
  });

  it('embeds token ids deterministically on the mock (the ids as text), one vector per list', async () => {
    const tokens = await client.embeddings.create({
      model: 'mock/embed',
      input: [[1, 2, 3], [4]],
      dimensions: 32,
    });
    assert.equal(tokens.data.length, 2);
    const text = await client.embeddings.create({
      model: 'mock/embed',
      input: ['1 2 3', '4'],
      dimensions: 32,
    });
    assert.deepEqual(
      tokens.data.map((d) => d.embedding),
      text.data.map((d) => d.embedding),
    );
    const one = await client.embeddings.create({ model: 'mock/embed', input: [1, 2, 3], dimensions: 32 });
    assert.deepEqual(one.data[0]?.embedding, tokens.data[0]?.embedding);
  });

  it('refuses ids that are not token ids, naming the input', async () => {
    const err = await client.embeddings
      .create({ model: 'mock/embed', input: [1.5, -2] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.match(err.message, /input/);
  });
});
