import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

const MiB = 1024 * 1024;

/** A handle's limits are the sandbox's: wall clock and memory, enforced from outside the agent. */
describe('local-dev agents under sandbox limits', () => {
  let server: TestServer;
  let agentId: string;

  const deploy = (bundle: string) =>
    server.request('POST', `/v1/agents/${agentId}/deployments`, { body: { bundle } });
  const chat = () =>
    server.request('POST', `/v1/agents/${agentId}/chat`, { body: { message: 'go', stream: false } });

  before(async () => {
    server = await startServer('pglite', {
      sandbox: {
        limits: { timeout_ms: 3_000, memory_bytes: 128 * MiB },
        pools: { bwrap: { size: 0 }, quickjs: { size: 0 }, agent: { size: 1 } },
      },
    });
    const res = await server.request('POST', '/v1/agents/local-dev', { body: { name: 'limited' } });
    agentId = res.body.agent.id;
  });
  after(() => server.close());

  test('a handle that never returns is stopped at the time limit: 504 agent_timeout', async () => {
    const deployed = await deploy('export async function handle() { for (;;) {} }\n');
    assert.equal(deployed.status, 201, deployed.text);
    const res = await chat();
    assert.equal(res.status, 504, res.text);
    assert.equal(res.body.error.details.code, 'agent_timeout');
    assert.match(res.body.error.message, /did not finish within the time limit/);
  });

  test('a handle that allocates without bound dies of it: 502 agent_error', async () => {
    const bomb =
      'export async function handle() { const keep = []; for (;;) keep.push(new Array(1e6).fill(7)); }\n';
    assert.equal((await deploy(bomb)).status, 201);
    const res = await chat();
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.error.details.code, 'agent_error');
    assert.match(res.body.error.message, /did not finish: it (ran out of memory|exited with)/);
  });

  test('ctx.model gets at most max_steps calls per run, and gateway errors reach the handle as messages', async () => {
    const bundle = `export async function handle(input, ctx) {
      const seen = [];
      try { await ctx.model.chat('hi', { model: 'nowhere/none' }); } catch (err) { seen.push(err.message); }
      for (let i = 0; i < 5; i++) {
        try { await ctx.model.chat('what is 1+1'); seen.push('ok'); } catch (err) { seen.push(err.message); }
      }
      return seen;
    }\n`;
    assert.equal((await deploy(bundle)).status, 201);
    const res = await server.request('POST', `/v1/agents/${agentId}/chat`, {
      body: { message: 'go', stream: false, max_steps: 3 },
    });
    assert.equal(res.status, 200, res.text);
    const seen = JSON.parse(res.body.response.text) as string[];
    assert.match(seen[0]!, /^[a-z_]+: .*nowhere\/none/);
    // The refused model call counted as a step; two more succeed, then the limit holds.
    assert.deepEqual(seen.slice(1), [
      'ok',
      'ok',
      ...Array(3).fill('this run already made max_steps (3) model calls'),
    ]);
    const run = await server.request('GET', `/v1/runs/${res.body.run_id}`);
    assert.equal(run.body.model_calls, 2);
  });

  test('the server still serves a well-behaved version afterwards', async () => {
    assert.equal((await deploy("export const handle = (input) => 'ok: ' + input.message;\n")).status, 201);
    const res = await chat();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.response.text, 'ok: go');
  });
});
