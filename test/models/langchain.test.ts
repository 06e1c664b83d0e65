import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { z } from 'zod';
import { startServer, type TestServer } from '../helpers/server.ts';

const Person = z.object({ name: z.string(), age: z.number().int().min(18) });

/** LangChain's `@langchain/openai` against the gateway: structured output in all three modes, embeddings. */
describe('@langchain/openai against the gateway', () => {
  let s: TestServer;
  let chat: ChatOpenAI;
  before(async () => {
    s = await startServer('pglite');
    chat = new ChatOpenAI({
      model: 'mock/default',
      apiKey: s.adminKey,
      configuration: { baseURL: `${s.url}/v1` },
      maxRetries: 0,
    });
  });
  after(() => s.close());

  it('invoke', async () => {
    const answer = await chat.invoke('What is 3 + 4?');
    assert.equal(answer.content, '7');
  });

  for (const method of ['jsonSchema', 'functionCalling'] as const) {
    it(`withStructuredOutput (${method})`, async () => {
      const person = await chat
        .withStructuredOutput(Person, { method, name: 'person' })
        .invoke('Who is she?');
      assert.deepEqual(Person.parse(person), person);
      assert.equal(person.age, 18);
    });
  }

  it('withStructuredOutput (jsonMode): the shape the prompt asks for', async () => {
    const person = await chat
      .withStructuredOutput(Person, { method: 'jsonMode' })
      .invoke('Answer in JSON like {"name": "Ada", "age": 36}');
    assert.deepEqual(person, { name: 'Ada', age: 36 });
  });

  it('withStructuredOutput (jsonMode): the shape a system prompt shows, or the keys a prompt names', async () => {
    const shown = await chat.withStructuredOutput(Person, { method: 'jsonMode' }).invoke([
      ['system', 'You extract people. Reply with JSON such as {"name": "Grace", "age": 85}.'],
      ['human', 'Grace Hopper, born 1906'],
    ]);
    assert.deepEqual(shown, { name: 'Grace', age: 85 });
    const named = await chat
      .withStructuredOutput(z.object({ city: z.string(), country: z.string() }), { method: 'jsonMode' })
      .invoke('Return a JSON object with the keys `city` and `country` for the capital of France.');
    assert.deepEqual(Object.keys(named).sort(), ['city', 'country']);
    const bare = await chat
      .withStructuredOutput(z.object({ title: z.string(), year: z.string() }), { method: 'jsonMode' })
      .invoke('Give me JSON with fields: title, year');
    assert.deepEqual(Object.keys(bare).sort(), ['title', 'year']);
  });

  it('embeddings: documents and a query', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'mock/embed',
      apiKey: s.adminKey,
      configuration: { baseURL: `${s.url}/v1` },
      dimensions: 32,
      maxRetries: 0,
    });
    const docs = await embeddings.embedDocuments(['red apples', 'green apples']);
    const query = await embeddings.embedQuery('red apples');
    assert.equal(docs.length, 2);
    assert.equal(query.length, 32);
    assert.deepEqual(
      query.map((v) => Math.fround(v)),
      docs[0]!.map((v) => Math.fround(v)),
    );
  });
});
