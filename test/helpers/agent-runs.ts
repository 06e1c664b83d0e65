import assert from 'node:assert/strict';
import type { TestServer } from './server.ts';

/** The agent client tests call as `agent/helper`: the mock model, with a calculator of its own. */
export async function makeHelperAgent(s: TestServer): Promise<string> {
  const made = await s.request('POST', '/v1/agents', {
    body: { name: 'helper', model: 'mock/default', tools: ['calculator'] },
  });
  assert.equal(made.status, 201, made.text);
  return made.body.id;
}

/** An agent's newest runs, each as its status and its steps (a tool step by the tool's name). */
export async function runsOf(s: TestServer, agentId: string, limit = 1) {
  const list = await s.request('GET', `/v1/runs?agent_id=${agentId}&limit=${limit}`);
  assert.equal(list.status, 200, list.text);
  const runs = [];
  for (const { id } of list.body.data as { id: string }[]) {
    const run = await s.request('GET', `/v1/runs/${id}`);
    const steps = run.body.steps.map((st: { kind: string; name: string }) =>
      st.kind === 'tool' ? st.name : st.kind,
    ) as string[];
    runs.push({ status: run.body.status as string, steps });
  }
  return runs;
}
