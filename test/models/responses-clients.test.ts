import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { Agent, tool as agentTool, OpenAIProvider, Runner, setTracingDisabled } from '@openai/agents';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { startServer, type TestServer } from '../helpers/server.ts';

// The Agents SDK exports its traces to OpenAI unless told not to: nothing leaves loopback here.
setTracingDisabled(true);

/**
 * The libraries people use today, against /v1/responses as they call it by default: the Vercel AI
 * SDK's `openai(model)` and the OpenAI Agents SDK's default (Responses) mode. Both on PGlite: the
 * store is exercised by responses.test.ts on both stores.
 */
describe('/v1/responses with the AI SDK and the OpenAI Agents SDK', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite');
  });
  after(() => s.close());

  it('AI SDK: generateText and streamText through the default (Responses) provider', async () => {
    const openai = createOpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey });
    const whole = await generateText({ model: openai('mock/default'), prompt: 'What is 7 * 6?' });
    assert.equal(whole.text, '42');
    assert.ok((whole.usage.inputTokens ?? 0) > 0 && (whole.usage.outputTokens ?? 0) > 0);
    assert.match(String(whole.response.id), /^resp_/);

    const streamed = streamText({
      model: openai('mock/default'),
      prompt: 'stream these several words to me please',
    });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    assert.equal(text, 'You said: stream these several words to me please');
    assert.equal(await streamed.finishReason, 'stop');
  });

  it('AI SDK: a tool round trip (call, execute, answer) over two Responses calls', async () => {
    const openai = createOpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey });
    const seen: string[] = [];
    const result = await generateText({
      model: openai('mock/default'),
      prompt: 'use get_weather for "Paris"',
      tools: {
        get_weather: tool({
          description: 'Weather for a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            seen.push(city);
            return `sunny in ${city}`;
          },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    assert.deepEqual(seen, ['Paris']);
    assert.equal(result.steps.length, 2);
    assert.equal(result.text, 'The get_weather tool returned: sunny in Paris');
  });

  it('OpenAI Agents SDK (default Responses mode): an agent with a tool, whole and streamed', async () => {
    const runner = new Runner({
      modelProvider: new OpenAIProvider({ apiKey: s.adminKey, baseURL: `${s.url}/v1` }),
    });
    const calls: string[] = [];
    const agent = new Agent({
      name: 'Weather',
      instructions: 'Answer about the weather.',
      model: 'mock/default',
      tools: [
        agentTool({
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            calls.push(city);
            return `rain in ${city}`;
          },
        }),
      ],
    });
    const result = await runner.run(agent, 'use get_weather for "Oslo"');
    assert.deepEqual(calls, ['Oslo']);
    assert.equal(result.finalOutput, 'The get_weather tool returned: rain in Oslo');

    const plain = new Agent({ name: 'Echo', instructions: 'Echo.', model: 'mock/default' });
    const streamed = await runner.run(plain, 'say hello back', { stream: true });
    let text = '';
    for await (const chunk of streamed.toTextStream()) text += chunk;
    await streamed.completed;
    assert.equal(text, 'You said: say hello back');
    assert.equal(streamed.finalOutput, 'You said: say hello back');
  });
});
