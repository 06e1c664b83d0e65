import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HumanMessage } from '@langchain/core/messages';
import { tool as lcTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, tool as agentTool, OpenAIProvider, Runner, setTracingDisabled } from '@openai/agents';
import { z } from 'zod';
import { makeHelperAgent, runsOf } from '../helpers/agent-runs.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// The Agents SDK exports its traces to OpenAI unless told not to: nothing leaves loopback here.
setTracingDisabled(true);

/**
 * The caller's tools on `agent/<name>` through the clients that broke on them: LangChain's tool
 * loop and its function-calling structured output, and the OpenAI Agents SDK running an agent model
 * with a function tool (Responses, its default, and Chat Completions). Each tool round trip must be
 * one run of the Agentry agent. PGlite: the stores are covered by agent-caller-tools.test.ts.
 */
describe("the caller's tools on agent models, through LangChain and the OpenAI Agents SDK", () => {
  let s: TestServer;
  let agentId: string;
  before(async () => {
    s = await startServer('pglite');
    agentId = await makeHelperAgent(s);
  });
  after(() => s.close());

  /** The agent's latest run: its status and the names of its steps (tools by name). */
  const latestRun = async () => (await runsOf(s, agentId))[0]!;

  const weatherTool = (cities: string[]) =>
    lcTool(
      async ({ city }: { city: string }) => {
        cities.push(city);
        return `windy in ${city}`;
      },
      { name: 'get_weather', description: 'The weather in a city', schema: z.object({ city: z.string() }) },
    );

  it('LangChain bindTools: the tool call comes back, the ToolMessage resumes the same run', async () => {
    const chat = new ChatOpenAI({
      model: 'agent/helper',
      apiKey: s.adminKey,
      configuration: { baseURL: `${s.url}/v1` },
      maxRetries: 0,
    });
    const cities: string[] = [];
    const weather = weatherTool(cities);
    const bound = chat.bindTools([weather]);
    const question = new HumanMessage("use the get_weather tool for 'Lima'");
    const first = await bound.invoke([question]);
    assert.equal(first.tool_calls?.length, 1);
    assert.equal(first.tool_calls![0]!.name, 'get_weather');
    const answered = await weather.invoke(first.tool_calls![0]!);
    const second = await bound.invoke([question, first, answered]);
    assert.deepEqual(cities, ['Lima']);
    assert.equal(second.content, 'The get_weather tool returned: windy in Lima');
    assert.deepEqual(await latestRun(), {
      status: 'completed',
      steps: ['model', 'get_weather', 'model'],
    });
  });

  it('LangChain withStructuredOutput (functionCalling): the forced tool is the answer format', async () => {
    const chat = new ChatOpenAI({
      model: 'agent/helper',
      apiKey: s.adminKey,
      configuration: { baseURL: `${s.url}/v1` },
      maxRetries: 0,
    });
    const Report = z.object({ city: z.string(), celsius: z.number() });
    const value = await chat
      .withStructuredOutput(Report, { method: 'functionCalling', name: 'report' })
      .invoke('report the weather in Rome');
    assert.deepEqual(Report.parse(value), value);
    assert.equal((await latestRun()).status, 'completed');
  });

  for (const useResponses of [true, false]) {
    it(`the OpenAI Agents SDK (${useResponses ? 'Responses' : 'Chat Completions'}): agent/<name> with a function tool`, async () => {
      const runner = new Runner({
        modelProvider: new OpenAIProvider({ apiKey: s.adminKey, baseURL: `${s.url}/v1`, useResponses }),
      });
      const cities: string[] = [];
      const agent = new Agent({
        name: 'Weather',
        instructions: 'Answer about the weather.',
        model: 'agent/helper',
        tools: [
          agentTool({
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: z.object({ city: z.string() }),
            execute: async ({ city }) => {
              cities.push(city);
              return `hail in ${city}`;
            },
          }),
        ],
      });
      const result = await runner.run(agent, 'use get_weather for "Quito"');
      assert.deepEqual(cities, ['Quito']);
      assert.equal(result.finalOutput, 'The get_weather tool returned: hail in Quito');
      assert.deepEqual(await latestRun(), {
        status: 'completed',
        steps: ['model', 'get_weather', 'model'],
      });
    });
  }
});
