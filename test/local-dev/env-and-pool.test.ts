import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// Only the local-dev agents' pool: it starts on the first deploy.
const sandbox = { pools: { bwrap: { size: 0 }, quickjs: { size: 0 }, agent: { size: 1 } } };
const bundle = 'export async function handle(input) { return { echoed: input.message }; }\n';

for (const store of stores) {
  describe(`local-dev deployments: env check and the agent pool's stats (${store})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer(store, { sandbox });
    });
    after(() => server.close());

    test('deploying to an agent whose env is not pool answers 422 and stores nothing', async () => {
      const created = await server.request('POST', '/v1/agents', { body: { name: 'plain' } });
      assert.equal(created.status, 201, created.text);
      assert.notEqual(created.body.env, 'pool');
      const res = await server.request('POST', `/v1/agents/${created.body.id}/deployments`, {
        body: { bundle },
      });
      assert.equal(res.status, 422, res.text);
      assert.equal(res.body.error.code, 'unprocessable');
      assert.match(
        res.body.error.message,
        /agent plain has env \w+; deployed bundles run for env pool agents only/,
      );
      const list = await server.request('GET', `/v1/agents/${created.body.id}/deployments`);
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.body.data, []);
    });

    test('GET /v1/pools/agent/stats answers zeros before the pool starts, then counts its sandboxes', async () => {
      const before = await server.request('GET', '/v1/pools/agent/stats');
      assert.equal(before.status, 200, before.text);
      assert.equal(before.body.type, 'agent');
      assert.equal(before.body.created, 0, 'the pool is lazy: nothing before the first local-dev agent');
      assert.equal(before.body.busy, 0);

      const agent = await server.request('POST', '/v1/agents/local-dev', { body: { name: 'echo' } });
      assert.equal(agent.status, 201, agent.text);
      const deployed = await server.request('POST', `/v1/agents/${agent.body.agent.id}/deployments`, {
        body: { bundle },
      });
      assert.equal(deployed.status, 201, deployed.text);

      const after = await server.request('GET', '/v1/pools/agent/stats');
      assert.equal(after.status, 200, after.text);
      assert.equal(after.body.type, 'agent');
      assert.ok(after.body.created >= 1, 'the deploy check took a sandbox from the agent pool');
      // The bash tool's bwrap pool is a different pool, turned off here.
      const bwrap = await server.request('GET', '/v1/pools/bwrap/stats');
      assert.equal(bwrap.status, 503, bwrap.text);

      const anonymous = await server.request('GET', '/v1/pools/agent/stats', { key: null });
      assert.equal(anonymous.status, 401);
    });
  });
}

describe('GET /v1/pools/agent/stats with local-dev agents turned off', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('pglite', { sandbox: { pools: { ...sandbox.pools, agent: { size: 0 } } } });
  });
  after(() => server.close());

  test('answers 503 and says why', async () => {
    const res = await server.request('GET', '/v1/pools/agent/stats');
    assert.equal(res.status, 503, res.text);
    assert.match(res.body.error.message, /local-dev agents are turned off/);
  });
});
