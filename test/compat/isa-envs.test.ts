/**
 * isA's config fields that map onto Agentry's own: `env` (where a config's chats run), `visibility`
 * and `metadata`. Per the reference, `cloud_shared` and `in_process` call the SDK here, `cloud_pool`
 * takes a VM of the pool manager's warm pool for each chat, and `deployment` runs the custom agent a
 * user deployed. Here: `in_process` is the loop, `cloud_pool` the loop holding a sandbox of the tools'
 * warm pool for the run, `deployment` a local-dev agent serving its deployed bundle. The client's
 * metadata reads back exactly as sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { requireCommand } from '../helpers/system-deps.ts';

const dev = { key: null, headers: { 'user-id': 'test-user' } };
const bundle = 'export async function handle(input) { return "echo: " + input.message; }\n';

async function config(s: TestServer, body: Record<string, unknown>) {
  const made = await s.request('POST', '/api/v1/agents/configs', { ...dev, body });
  assert.equal(made.status, 200, made.text);
  return made.body;
}

async function chat(s: TestServer, agent: string, message: string) {
  return s.request('POST', '/api/v1/agents/chat', {
    ...dev,
    body: { agent_config_id: agent, message, stream: false },
  });
}

for (const store of stores) {
  describe(`isA config environments, visibility and metadata on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      requireCommand('bwrap');
      // One warm bubblewrap sandbox and no more: whoever holds it holds the pool.
      s = await startServer(store, {
        auth: { mode: 'dev' },
        compat: { isa: true },
        sandbox: {
          pools: {
            bwrap: { size: 1, max_total: 1, acquire_timeout_ms: 1500 },
            quickjs: { size: 0 },
            agent: { size: 1 },
          },
        },
      });
    });
    after(() => s.close());

    const bwrap = async () => (await s.request('GET', '/v1/pools/bwrap/stats')).body;

    it("keeps the client's metadata as sent, and the env in the agent's own field", async () => {
      const metadata = { team: 'ops', nested: { list: [1, 2], empty: {} } };
      const envs = { in_process: 'in_process', cloud_pool: 'cloud_pool', deployment: 'pool' };
      for (const [env, agentryEnv] of Object.entries(envs)) {
        const made = await config(s, { name: `Meta ${env}`, env, metadata });
        assert.equal(made.env, env);
        assert.deepEqual(made.metadata, metadata);
        const read = await s.request('GET', `/api/v1/agents/configs/${made.id}`, dev);
        assert.deepEqual([read.body.env, read.body.metadata], [env, metadata]);
        const agent = await s.request('GET', `/v1/agents/${made.id}`);
        assert.deepEqual([agent.body.env, agent.body.metadata], [agentryEnv, metadata]);
      }
      // isA's other name for its in-process SDK call runs the loop here, and reads back as written.
      const shared = await config(s, { name: 'Meta shared', env: 'cloud_shared', metadata });
      assert.equal(shared.env, 'cloud_shared');
      assert.deepEqual(shared.metadata, metadata);
      assert.equal(
        (await s.request('GET', `/api/v1/agents/configs/${shared.id}`, dev)).body.env,
        'cloud_shared',
      );
      const sharedChat = await chat(s, shared.id, 'What is 2+2?');
      assert.equal(sharedChat.status, 200, sharedChat.text);
      assert.match(sharedChat.body.response.result.response, /4/);

      const moved = await s.request('PATCH', '/api/v1/agents/configs/Meta%20in_process', {
        ...dev,
        body: { env: 'cloud_pool' },
      });
      assert.deepEqual([moved.body.env, moved.body.metadata], ['cloud_pool', metadata]);
      const replaced = await s.request('PATCH', '/api/v1/agents/configs/Meta%20in_process', {
        ...dev,
        body: { metadata: { only: true } },
      });
      assert.deepEqual([replaced.body.env, replaced.body.metadata], ['cloud_pool', { only: true }]);
    });

    it('takes env multi_agent: the config answers with the multi-agent spec it names', async () => {
      const member = await config(s, { name: 'Team Member', system_prompt: 'Keep answers short.' });
      const spec = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'isa-team', kind: 'swarm', members: [member.id] },
      });
      assert.equal(spec.status, 201, spec.text);
      const lead = await config(s, { name: 'Team Lead', env: 'multi_agent', multi_spec_id: spec.body.id });
      assert.deepEqual([lead.env, lead.multi_spec_id], ['multi_agent', spec.body.id]);
      const answer = await chat(s, lead.id, 'What is 2+2?');
      assert.equal(answer.status, 200, answer.text);
      assert.match(answer.body.response.result.response, /4/);
      // Without a spec to run, the chat says what is missing (422), not a 400 at creation.
      const bare = await config(s, { name: 'Team Nobody', env: 'multi_agent' });
      const refused = await chat(s, bare.id, 'hi');
      assert.equal(refused.status, 422, refused.text);
      assert.match(refused.body.error.message, /multi_agent_id/);
    });

    it('runs in_process chats with the loop alone, and cloud_pool chats holding a warm sandbox', async () => {
      await config(s, { name: 'Here', env: 'in_process' });
      await config(s, { name: 'Pooled', env: 'cloud_pool' });
      const ready = async () => ((await bwrap()).ready === 1 ? true : undefined);
      await eventually(ready, 20_000, 'the warm sandbox');

      // Someone holds the pool's only sandbox (an isA pool instance).
      const held = await s.request('POST', '/api/v1/pools/agent/acquire', { ...dev, body: {} });
      assert.equal(held.status, 200, held.text);
      const here = await chat(s, 'Here', 'What is 2+2?');
      assert.equal(here.body.status, 'success', here.text);
      assert.equal(here.body.response.result.response, '4');
      const waiting = await chat(s, 'Pooled', 'What is 2+2?');
      assert.equal(waiting.status, 200, waiting.text);
      assert.equal(waiting.body.status, 'error', waiting.text);
      assert.match(waiting.body.response.result.response, /no bwrap sandbox became free/);
      const failed = await s.request('GET', `/v1/runs/${waiting.body.run_id}`);
      assert.equal(failed.body.error?.code, 'unavailable', failed.text);
      assert.equal(failed.body.model_calls, 0, 'the model was not called without a sandbox');

      const released = await s.request('POST', `/api/v1/pools/agent/${held.body.instance_id}/release`, dev);
      assert.equal(released.status, 200, released.text);
      await eventually(ready, 20_000, 'a fresh warm sandbox');
      const destroyed = (await bwrap()).destroyed;
      const pooled = await chat(s, 'Pooled', 'What is 3+3?');
      assert.equal(pooled.body.status, 'success', pooled.text);
      assert.equal(pooled.body.response.result.response, '6');
      // The run gave its sandbox back at its end: used once, it is destroyed and replaced.
      await eventually(
        async () => ((await bwrap()).destroyed === destroyed + 1 ? true : undefined),
        20_000,
        'the held sandbox to go back',
      );
    });

    it('runs deployment chats on the bundle deployed for the config, and refuses them before one is', async () => {
      const made = await config(s, { name: 'Deployed Echo', env: 'deployment' });
      const early = await chat(s, 'Deployed Echo', 'ping');
      assert.equal(early.status, 422, early.text);
      assert.match(early.body.error.message, /has no deployment yet/);
      const sessions = await s.request('GET', `/v1/sessions?agent_id=${made.id}`);
      assert.deepEqual(sessions.body.data, [], 'nothing was written for the refused chat');
      const deployed = await s.request('POST', `/v1/agents/${made.id}/deployments`, {
        ...dev,
        body: { bundle },
      });
      assert.equal(deployed.status, 201, deployed.text);
      const answer = await chat(s, 'Deployed Echo', 'ping');
      assert.equal(answer.body.status, 'success', answer.text);
      assert.equal(answer.body.response.result.response, 'echo: ping');
    });

    it("takes and shows visibility as Agentry's: a private config is its owner's alone", async () => {
      const key = async (owner: string) =>
        (await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } })).body.secret as string;
      const alice = await key('user:alice');
      const bob = await key('user:bob');
      const made = await s.request('POST', '/api/v1/agents/configs', {
        key: alice,
        body: { name: 'Alice Private', visibility: 'private' },
      });
      assert.equal(made.status, 200, made.text);
      assert.equal(made.body.visibility, 'private');
      assert.equal(made.body.owner_id, 'user:alice');
      assert.equal((await s.request('GET', `/v1/agents/${made.body.id}`)).body.visibility, 'private');
      const path = `/api/v1/agents/configs/${made.body.id}`;
      assert.equal((await s.request('GET', path, { key: bob })).status, 404);
      assert.equal(
        (await s.request('GET', '/api/v1/agents/configs/alice%20private', { key: bob })).status,
        404,
      );
      const bobs = await s.request('GET', '/api/v1/agents/configs', { key: bob });
      assert.ok(!bobs.body.some((c: { id: string }) => c.id === made.body.id), 'not listed for Bob');
      const grab = await s.request('PATCH', path, { key: bob, body: { visibility: 'tenant' } });
      assert.equal(grab.status, 404, grab.text);

      const shared = await s.request('PATCH', path, { key: alice, body: { visibility: 'tenant' } });
      assert.equal(shared.status, 200, shared.text);
      assert.equal(shared.body.visibility, 'tenant');
      const seen = await s.request('GET', path, { key: bob });
      assert.equal(seen.status, 200, seen.text);
      assert.equal(seen.body.visibility, 'tenant');
      const hide = await s.request('PATCH', path, { key: bob, body: { visibility: 'private' } });
      assert.equal(hide.status, 403, 'only the owner or an admin changes it');
      const bad = await s.request('POST', '/api/v1/agents/configs', {
        key: alice,
        body: { name: 'Odd', visibility: 'everyone' },
      });
      assert.equal(bad.status, 400, bad.text);
    });
  });
}

describe('isA cloud_pool configs where no warm pool runs', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      auth: { mode: 'dev' },
      compat: { isa: true },
      sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
    });
  });
  after(() => s.close());

  it('refuses their chats with 503 and the reason before writing anything; in_process ones answer', async () => {
    const pooled = await config(s, { name: 'Pooled', env: 'cloud_pool' });
    const refused = await chat(s, 'Pooled', 'What is 2+2?');
    assert.equal(refused.status, 503, refused.text);
    assert.match(refused.body.error.message, /env cloud_pool.*sandbox pool is turned off/);
    const sessions = await s.request('GET', `/v1/sessions?agent_id=${pooled.id}`);
    assert.deepEqual(sessions.body.data, []);
    await config(s, { name: 'Here', env: 'in_process' });
    const here = await chat(s, 'Here', 'What is 2+2?');
    assert.equal(here.status, 200, here.text);
    assert.equal(here.body.response.result.response, '4');
  });
});
