import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The Vercel AI SDK with `@ai-sdk/openai`'s Chat Completions model (`.chat()`) against the gateway. */
describe('the AI SDK (.chat()) against the gateway', () => {
  let s: TestServer;
  let provider: ReturnType<typeof createOpenAI>;
  before(async () => {
    s = await startServer('pglite');
    provider = createOpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey });
  });
  after(() => s.close());

  it('generateText', async () => {
    const { text, usage, finishReason } = await generateText({
      model: provider.chat('mock/default'),
      prompt: 'What is 6 * 7?',
      maxRetries: 0,
    });
    assert.equal(text, '42');
    assert.equal(finishReason, 'stop');
    assert.ok((usage.inputTokens ?? 0) > 0);
  });

  it('streamText', async () => {
    const result = streamText({
      model: provider.chat('mock/default'),
      prompt: 'stream me some words',
      maxRetries: 0,
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'You said: stream me some words');
    assert.ok(((await result.usage).outputTokens ?? 0) > 0);
  });

  it('generateObject: a schema-valid object', async () => {
    const schema = z.object({
      title: z.string(),
      tags: z.array(z.string()),
      rating: z.number().min(1).max(5),
      done: z.boolean(),
    });
    const { object } = await generateObject({
      model: provider.chat('mock/default'),
      schema,
      prompt: 'Summarise the film',
      maxRetries: 0,
    });
    assert.deepEqual(schema.parse(object), object);
    assert.equal(object.rating, 1);
  });

  it('tools: the call is executed and its result answered', async () => {
    const { text, steps } = await generateText({
      model: provider.chat('mock/default'),
      tools: {
        get_weather: tool({
          description: 'Weather for a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `sunny in ${city}`,
        }),
      },
      stopWhen: stepCountIs(3),
      prompt: 'use get_weather for "Bern"',
      maxRetries: 0,
    });
    assert.equal(steps[0]?.toolCalls[0]?.toolName, 'get_weather');
    assert.equal(text, 'The get_weather tool returned: sunny in Bern');
  });
});
