import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import { ChatAnthropic } from '@langchain/anthropic';
import { HumanMessage } from '@langchain/core/messages';
import { tool as lcTool } from '@langchain/core/tools';
import { generateObject, generateText, stepCountIs, tool } from 'ai';
import { z } from 'zod';
import { makeHelperAgent, runsOf } from '../helpers/agent-runs.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * Agent models (`agent/<name>`) with the caller's own tools through Agentry's Anthropic Messages
 * door, as the Anthropic clients of two frameworks call it: the AI SDK's provider (generateObject
 * with a zod schema, generateText with a tool loop) and LangChain's ChatAnthropic (bindTools, and
 * withStructuredOutput). Each must come back as the client expects and be one run of the agent.
 */
describe("the caller's tools on agent models through Anthropic clients (AI SDK, LangChain)", () => {
  let s: TestServer;
  let agentId: string;
  before(async () => {
    s = await startServer('pglite');
    agentId = await makeHelperAgent(s);
  });
  after(() => s.close());

  /** The agent's latest run: its status and the names of its steps (tools by name). */
  const latestRun = async () => (await runsOf(s, agentId))[0]!;

  const aiSdk = () => createAnthropic({ baseURL: `${s.url}/v1`, apiKey: s.adminKey });
  const langchain = () =>
    new ChatAnthropic({
      model: 'agent/helper',
      apiKey: s.adminKey,
      anthropicApiUrl: s.url,
      maxRetries: 0,
    });
  const Report = z.object({ city: z.string(), celsius: z.number() });

  it('AI SDK generateObject: a zod-typed object from agent/<name>', async () => {
    const { object } = await generateObject({
      model: aiSdk()('agent/helper'),
      schema: Report,
      prompt: 'report the weather in Rome',
      maxRetries: 0,
    });
    assert.deepEqual(Report.parse(object), object);
    assert.equal((await latestRun()).status, 'completed');
  });

  it("AI SDK generateText: the caller's tool runs in the SDK's loop, the answer uses its result", async () => {
    const cities: string[] = [];
    const result = await generateText({
      model: aiSdk()('agent/helper'),
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            cities.push(city);
            return `fog in ${city}`;
          },
        }),
      },
      stopWhen: stepCountIs(3),
      prompt: "use the get_weather tool for 'Oslo'",
      maxRetries: 0,
    });
    assert.deepEqual(cities, ['Oslo']);
    assert.equal(result.steps.length, 2);
    assert.match(result.text, /get_weather tool returned: "?fog in Oslo/);
    assert.deepEqual(await latestRun(), { status: 'completed', steps: ['model', 'get_weather', 'model'] });
  });

  it('LangChain ChatAnthropic bindTools: the tool call comes back, the ToolMessage resumes the same run', async () => {
    const cities: string[] = [];
    const weather = lcTool(
      async ({ city }: { city: string }) => {
        cities.push(city);
        return `windy in ${city}`;
      },
      { name: 'get_weather', description: 'The weather in a city', schema: z.object({ city: z.string() }) },
    );
    const bound = langchain().bindTools([weather]);
    const question = new HumanMessage("use the get_weather tool for 'Lima'");
    const first = await bound.invoke([question]);
    assert.equal(first.tool_calls?.length, 1);
    assert.equal(first.tool_calls![0]!.name, 'get_weather');
    assert.deepEqual(first.tool_calls![0]!.args, { city: 'Lima' });
    const answered = await weather.invoke(first.tool_calls![0]!);
    const second = await bound.invoke([question, first, answered]);
    assert.deepEqual(cities, ['Lima']);
    assert.equal(second.text, 'The get_weather tool returned: windy in Lima');
    assert.deepEqual(await latestRun(), { status: 'completed', steps: ['model', 'get_weather', 'model'] });
  });

  for (const method of ['functionCalling', 'jsonSchema'] as const) {
    it(`LangChain ChatAnthropic withStructuredOutput (${method}): a parsed object`, async () => {
      const value = await langchain()
        .withStructuredOutput(Report, { method, name: 'report' })
        .invoke('report the weather in Rome');
      assert.deepEqual(Report.parse(value), value);
      assert.equal((await latestRun()).status, 'completed');
    });
  }
});
