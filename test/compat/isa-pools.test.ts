/**
 * isA's pool manager routes on Agentry's warm pools, driven as isA's SDK client drives them
 * (pool_manager_client: acquire with `{pool_type, config, session_id, user_id, timeout}`, execute
 * with `{action, params}`, stream, release). An instance is held for the user who acquired it: it
 * counts busy in the pool, keeps one conversation, and is found by nobody else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { requireCommand } from '../helpers/system-deps.ts';

// The tools' pool is quickjs here (bubblewrap's is off), with room for two held instances.
const sandbox = { pools: { bwrap: { size: 0 }, quickjs: { size: 1, max_total: 2 }, agent: { size: 1 } } };
const bundle = 'export async function handle(input) { return "echo: " + input.message; }\n';

async function userKey(s: TestServer, owner: string): Promise<string> {
  const r = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } });
  assert.equal(r.status, 201, r.text);
  return r.body.secret;
}

for (const store of stores) {
  describe(`isA pool manager on ${store}`, () => {
    let s: TestServer;
    let alice: string;
    let bob: string;
    let agentId: string;
    before(async () => {
      requireCommand('bwrap');
      s = await startServer(store, { compat: { isa: true }, sandbox });
      alice = await userKey(s, 'user:alice');
      bob = await userKey(s, 'user:bob');
      const made = await s.request('POST', '/api/v1/agents/configs', {
        key: alice,
        body: { name: 'Pool Helper', system_prompt: 'Keep answers short.', env: 'cloud_pool' },
      });
      assert.equal(made.status, 200, made.text);
      agentId = made.body.id;
    });
    after(() => s.close());

    const stats = async (type = 'agent') => (await s.request('GET', `/api/v1/pools/${type}/stats`)).body;
    const pool = (path: string, key: string, body?: unknown) =>
      s.request('POST', `/api/v1/pools/agent${path}`, { key, body });

    it('holds an instance for its caller: one conversation across queries and a stream, then released', async () => {
      await eventually(
        async () => ((await stats()).warm_instances > 0 ? true : undefined),
        15_000,
        'a warm sandbox',
      );
      const acquired = await pool('/acquire', alice, {
        pool_type: 'agent',
        config: { id: agentId, name: 'Pool Helper', tools: [], system_prompt: 'Keep answers short.' },
        session_id: 'sdk-session-1',
        user_id: 'alice',
        timeout: 30,
      });
      assert.equal(acquired.status, 200, acquired.text);
      const id = acquired.body.instance_id;
      assert.equal(acquired.body.agent_config_id, agentId);
      assert.equal(acquired.body.session_id, 'sdk-session-1', "the client's session_id, as sent");
      assert.equal((await stats()).busy_instances, 1, 'the held sandbox is busy in the pool');

      const first = await pool(`/${id}/execute`, alice, {
        action: 'query',
        params: { prompt: 'What is 2+2?' },
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.success, true);
      assert.match(first.body.response.result.response, /4/);
      const second = await pool(`/${id}/execute`, alice, {
        action: 'query',
        params: { query: 'And 3+3?', context: {} },
      });
      assert.equal(first.body.session_id, 'sdk-session-1');
      assert.equal(second.body.session_id, first.body.session_id, 'the instance keeps its conversation');
      const sessionOf = async (runId: string) =>
        (await s.request('GET', `/v1/runs/${runId}`)).body.session_id;
      const conversation = await sessionOf(first.body.run_id);
      assert.equal(await sessionOf(second.body.run_id), conversation);
      const history = await s.request('GET', `/v1/sessions/${conversation}/messages`);
      assert.equal(history.body.data.length, 4);

      const streamed = await fetch(`${s.url}/api/v1/pools/agent/${id}/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hello' }),
      });
      assert.equal(streamed.status, 200);
      const text = await streamed.text();
      const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
      assert.deepEqual(events, ['session_start', 'system', 'text', 'result', 'session_end']);
      assert.match(text, /data: \[DONE\]/);

      const state = await pool(`/${id}/execute`, alice, { action: 'get_state', params: {} });
      assert.equal(state.body.state.session_id, first.body.session_id);
      const reset = await pool(`/${id}/execute`, alice, { action: 'reset' });
      assert.equal(reset.body.state.session_id, null);
      const fresh = await pool(`/${id}/execute`, alice, { params: { prompt: 'new start' } });
      assert.notEqual(fresh.body.session_id, first.body.session_id);
      assert.notEqual(await sessionOf(fresh.body.run_id), conversation);

      // Bob cannot use, see or release Alice's instance.
      assert.equal((await pool(`/${id}/execute`, bob, { params: { prompt: 'hi' } })).status, 404);
      assert.equal((await pool(`/${id}/release`, bob)).status, 404);
      assert.equal((await stats()).busy_instances, 1);

      const released = await pool(`/${id}/release`, alice);
      assert.equal(released.status, 200, released.text);
      assert.equal(released.body.success, true);
      assert.equal((await pool(`/${id}/execute`, alice, { params: { prompt: 'hi' } })).status, 404);
      assert.equal((await pool(`/${id}/release`, alice)).status, 404);
      await eventually(
        async () => ((await stats()).busy_instances === 0 ? true : undefined),
        15_000,
        'idle pool',
      );
    });

    it("gives each user's instance their own session for the same session_id", async () => {
      const acquire = async (key: string) => {
        const res = await pool('/acquire', key, { pool_type: 'agent', session_id: 'shared-key' });
        assert.equal(res.status, 200, res.text);
        return res.body.instance_id as string;
      };
      const ask = async (key: string, id: string, prompt: string) => {
        const res = await pool(`/${id}/execute`, key, { action: 'query', params: { prompt } });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.session_id, 'shared-key');
        return (await s.request('GET', `/v1/runs/${res.body.run_id}`)).body.session_id as string;
      };
      const mine = await acquire(alice);
      const theirs = await acquire(bob);
      try {
        const aliceSession = await ask(alice, mine, 'remember 1234');
        const bobSession = await ask(bob, theirs, 'what do you remember?');
        assert.notEqual(bobSession, aliceSession);
        const history = await s.request('GET', `/v1/sessions/${bobSession}/messages`, { key: bob });
        assert.equal(history.body.data.length, 2, 'only his own turn');
        assert.equal(history.body.data[0].content, 'what do you remember?');
      } finally {
        await pool(`/${mine}/release`, alice);
        await pool(`/${theirs}/release`, bob);
      }
    });

    it('refuses what it cannot do with a 4xx in the error format', async () => {
      const mismatch = await pool('/acquire', alice, { pool_type: 'custom_agent', config: { id: agentId } });
      assert.equal(mismatch.status, 400, mismatch.text);
      assert.equal(mismatch.body.error.code, 'validation_error');
      const noPrompt = await pool('/0190a0a0-0000-7000-8000-000000000000/execute', alice, {
        action: 'query',
      });
      assert.equal(noPrompt.status, 400, noPrompt.text);
      const unknown = await pool('/0190a0a0-0000-7000-8000-000000000000/execute', alice, {
        params: { prompt: 'x' },
      });
      assert.equal(unknown.status, 404);
      assert.equal((await pool('/acquire', alice, { config: { name: 'nobody' } })).status, 404);
      const notLocal = await s.request('POST', '/api/v1/pools/custom_agent/acquire', {
        key: alice,
        body: { config: { id: agentId } },
      });
      assert.equal(notLocal.status, 422, notLocal.text);
      assert.match(notLocal.body.error.message, /not a local-dev agent/);
      assert.equal(
        (await s.request('POST', '/api/v1/pools/agent/acquire', { key: null, body: {} })).status,
        401,
      );
    });

    it("holds a sandbox of the local-dev agents' pool for custom_agent, running the deployed bundle", async () => {
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'echoer', env: 'pool' },
      });
      const deployed = await s.request('POST', `/v1/agents/${made.body.id}/deployments`, {
        key: alice,
        body: { bundle },
      });
      assert.equal(deployed.status, 201, deployed.text);
      const acquired = await s.request('POST', '/api/v1/pools/custom_agent/acquire', {
        key: alice,
        body: { pool_type: 'custom_agent', config: { name: 'ECHOER' } },
      });
      assert.equal(acquired.status, 200, acquired.text);
      const id = acquired.body.instance_id;
      assert.equal((await stats('custom_agent')).busy_instances, 1);
      const answer = await s.request('POST', `/api/v1/pools/custom_agent/${id}/execute`, {
        key: alice,
        body: { action: 'query', params: { prompt: 'ping' } },
      });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.response.result.response, 'echo: ping');
      const released = await s.request('POST', `/api/v1/pools/custom_agent/${id}/release`, { key: alice });
      assert.equal(released.status, 200);
    });
  });

  describe(`isA pool instances left idle on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { compat: { isa: true, isa_pool_idle_ms: 1000 }, sandbox });
    });
    after(() => s.close());

    it('are released after compat.isa_pool_idle_ms without a call', async () => {
      const key = await userKey(s, 'user:carol');
      const acquired = await s.request('POST', '/api/v1/pools/agent/acquire', { key, body: {} });
      assert.equal(acquired.status, 200, acquired.text);
      assert.equal(acquired.body.idle_timeout_seconds, 1);
      assert.equal((await s.request('GET', '/api/v1/pools/agent/stats')).body.busy_instances, 1);
      // Watched through the statistics: a call on the instance would keep it alive.
      await eventually(
        async () =>
          (await s.request('GET', '/api/v1/pools/agent/stats')).body.busy_instances === 0 ? true : undefined,
        20_000,
        'the idle instance to be released',
      );
      const path = `/api/v1/pools/agent/${acquired.body.instance_id}/execute`;
      assert.equal((await s.request('POST', path, { key, body: { action: 'get_state' } })).status, 404);
    });
  });
}
