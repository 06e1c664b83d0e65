import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makeHelperAgent, runsOf } from '../helpers/agent-runs.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const here = path.resolve('test/doors/python-clients');

/**
 * The caller's tools on `agent/<name>` through the openai and anthropic Python clients (from pip,
 * pinned in requirements.txt, in a venv under ~/.cache/agentry-pyclient made once): Chat
 * Completions, Responses and Messages tool loops, each tool round trip one run of the Agentry agent.
 */
describe("the caller's tools on agent models, through the openai and anthropic Python clients", () => {
  let s: TestServer;
  let python: string;
  let agentId: string;
  before(async () => {
    const venv = path.join(homedir(), '.cache', 'agentry-pyclient', 'clients');
    const setup = await run(
      'bash',
      [path.resolve('test/helpers/python-venv.sh'), path.join(here, 'requirements.txt'), venv],
      { timeout: 600_000 },
    );
    python = setup.stdout.trim();
    s = await startServer('pglite');
    agentId = await makeHelperAgent(s);
  });
  after(() => s?.close());

  const script = async (name: string) => {
    const out = await run(python, [path.join(here, name)], {
      env: { ...process.env, AGENTRY_URL: s.url, AGENTRY_KEY: s.adminKey, AGENTRY_MODEL: 'agent/helper' },
      timeout: 120_000,
    });
    return JSON.parse(out.stdout);
  };

  /** The agent has `runs` runs, each completed with one tool step between its two model steps. */
  const eachRunOneToolLoop = async (runs: number) => {
    const all = await runsOf(s, agentId, 10);
    assert.equal(all.length, runs, 'one run per tool loop');
    for (const run of all)
      assert.deepEqual(run, { status: 'completed', steps: ['model', 'get_weather', 'model'] });
  };

  it('openai: a Chat Completions and a Responses tool loop, each one run with the tool step', async () => {
    assert.deepEqual(await script('openai_tool_loops.py'), {
      chat: {
        finish_reason: 'tool_calls',
        tool: 'get_weather',
        arguments: { city: 'Lima' },
        answer: 'The get_weather tool returned: windy in Lima',
      },
      responses: {
        tool: 'get_weather',
        arguments: { city: 'Quito' },
        answer: 'The get_weather tool returned: windy in Quito',
      },
    });
    await eachRunOneToolLoop(2);
  });

  it('anthropic: a tool_use answered by a tool_result block resumes the same run', async () => {
    assert.deepEqual(await script('anthropic_tool_loop.py'), {
      stop_reason: 'tool_use',
      tool: 'get_weather',
      input: { city: 'Bern' },
      answer: 'The get_weather tool returned: windy in Bern',
    });
    await eachRunOneToolLoop(3);
  });
});
