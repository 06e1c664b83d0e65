/**
 * Per-user ownership inside a tenant: two users (Alice and Bob, each with a write key made for
 * them) share a tenant. What Alice marks private is not found (404) for Bob, whatever he tries,
 * and stays whole; the tenant's admin sees everything; what is the tenant's is shared.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compatFamilies } from '../../src/config/compat-config.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`ownership inside a tenant on ${store}`, () => {
    let s: TestServer;
    let alice: string;
    let bob: string;
    before(async () => {
      // Every earlier system's family on (on PostgreSQL they are off by default).
      s = await startServer(store, {
        compat: Object.fromEntries(compatFamilies.map((f) => [f, true])),
        tasks: { workers: 0 },
      });
      const key = async (owner: string) => {
        const r = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.owner, owner, 'the key records whom it acts for');
        return r.body.secret as string;
      };
      alice = await key('user:alice');
      bob = await key('user:bob');
    });
    after(() => s.close());

    it("keeps Alice's private agent from Bob: no read, change, chat or delete, by id or by name", async () => {
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'Alice Notes', visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.owner, 'user:alice');
      const { id } = made.body;

      for (const ref of [id, 'alice notes']) {
        const path = `/v1/agents/${encodeURIComponent(ref)}`;
        assert.equal((await s.request('GET', path, { key: bob })).status, 404);
        assert.equal(
          (await s.request('PATCH', path, { key: bob, body: { description: 'mine' } })).status,
          404,
        );
        assert.equal((await s.request('DELETE', path, { key: bob })).status, 404);
        const chat = await s.request('POST', `${path}/chat`, {
          key: bob,
          body: { message: 'hi', stream: false },
        });
        assert.equal(chat.status, 404, chat.text);
      }
      const viaChat = await s.request('POST', '/v1/chat', {
        key: bob,
        body: { agent_config_id: id, message: 'hi', stream: false },
      });
      assert.equal(viaChat.status, 404);
      const bobsList = await s.request('GET', '/v1/agents', { key: bob });
      assert.ok(!bobsList.body.data.some((a: { id: string }) => a.id === id), 'not listed for Bob');

      // Untouched: Alice and the admin still see it as it was.
      const mine = await s.request('GET', `/v1/agents/${id}`, { key: alice });
      assert.equal(mine.status, 200);
      assert.equal(mine.body.description, '');
      assert.equal((await s.request('GET', `/v1/agents/${id}`)).status, 200, 'the tenant admin sees it');
      assert.ok((await s.request('GET', '/v1/agents')).body.data.some((a: { id: string }) => a.id === id));
      const chat = await s.request('POST', `/v1/agents/${id}/chat`, {
        key: alice,
        body: { message: 'hi', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      assert.equal((await s.request('DELETE', `/v1/agents/${id}`, { key: alice })).status, 204);
    });

    it("keeps Alice's private agent from Bob in the earlier systems' routes too", async () => {
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'Alice Solo', visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      const { id } = made.body;
      const as = (key: string) => ({ key, headers: { 'x-api-key': key } });
      const bobCalls: Array<[string, string, unknown]> = [
        ['POST', '/v1/delegation/task', { task_id: 'bob-1', agent: 'alice solo' }],
        ['POST', '/api/agents/tasks', { agent_id: 'ALICE SOLO', task_type: 'default', title: 'x' }],
        ['GET', '/api/agents/tasks?agent_id=alice%20solo', undefined],
        ['POST', '/execute', { task: 'hi', parameters: { agent: 'Alice Solo' } }],
        ['POST', '/plan', { prompt: 'hi', agent: 'Alice Solo' }],
        ['POST', '/api/v1/agents/chat', { agent_config_id: 'Alice Solo', message: 'hi', stream: false }],
        ['GET', `/api/v1/agents/configs/${id}`, undefined],
        ['PATCH', `/api/v1/agents/configs/${id}`, { description: 'mine' }],
        ['DELETE', `/api/v1/agents/configs/${id}`, undefined],
      ];
      for (const [method, path, body] of bobCalls) {
        const res = await s.request(method, path, { ...as(bob), body });
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      }
      const configs = await s.request('GET', '/api/v1/agents/configs', as(bob));
      assert.ok(!configs.body.some((c: { id: string }) => c.id === id), 'not listed for Bob');
      const bobsTasks = await s.request('GET', '/v1/tasks', { key: alice });
      assert.ok(
        !bobsTasks.body.data.some((t: { agent_id: string }) => t.agent_id === id),
        'nothing was queued on it',
      );

      // Alice herself reaches it through the same routes.
      const queued = await s.request('POST', '/api/agents/tasks', {
        ...as(alice),
        body: { agent_id: 'alice solo', task_type: 'default', title: 'mine' },
      });
      assert.equal(queued.status, 201, queued.text);
      const delegated = await s.request('POST', '/v1/delegation/task', {
        ...as(alice),
        body: { task_id: 'alice-1', agent: 'Alice Solo' },
      });
      assert.equal(delegated.status, 200, delegated.text);
      assert.equal((await s.request('GET', `/api/v1/agents/configs/${id}`, as(alice))).status, 200);
    });

    it("shares the tenant's agents, but only their owner or an admin changes their visibility", async () => {
      const made = await s.request('POST', '/v1/agents', { key: alice, body: { name: 'Team Helper' } });
      assert.equal(made.body.visibility, 'tenant');
      const path = `/v1/agents/${made.body.id}`;
      assert.equal((await s.request('GET', path, { key: bob })).status, 200);
      const hide = await s.request('PATCH', path, { key: bob, body: { visibility: 'private' } });
      assert.equal(hide.status, 403, hide.text);
      assert.equal(
        (await s.request('PATCH', path, { key: alice, body: { visibility: 'private' } })).status,
        200,
      );
      assert.equal((await s.request('GET', path, { key: bob })).status, 404);
    });

    it("keeps Alice's private knowledge base from Bob: no read, search, ingest, change or delete", async () => {
      const made = await s.request('POST', '/v1/knowledge-bases', {
        key: alice,
        body: { name: 'alice-diary', visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.owner, 'user:alice');
      const path = `/v1/knowledge-bases/${made.body.id}`;
      const doc = { source: 'day1.md', content: '# Day one\nThe secret word is marmalade.' };
      assert.equal((await s.request('POST', `${path}/documents`, { key: alice, body: doc })).status, 201);

      assert.equal((await s.request('GET', path, { key: bob })).status, 404);
      const search = await s.request('POST', `${path}/search`, { key: bob, body: { query: 'secret word' } });
      assert.equal(search.status, 404, search.text);
      assert.equal((await s.request('GET', `${path}/documents`, { key: bob })).status, 404);
      assert.equal((await s.request('POST', `${path}/documents`, { key: bob, body: doc })).status, 404);
      assert.equal((await s.request('PATCH', path, { key: bob, body: { description: 'x' } })).status, 404);
      assert.equal((await s.request('DELETE', path, { key: bob })).status, 404);
      const list = await s.request('GET', '/v1/knowledge-bases', { key: bob });
      assert.ok(!list.body.data.some((k: { id: string }) => k.id === made.body.id));

      const found = await s.request('POST', `${path}/search`, { key: alice, body: { query: 'secret word' } });
      assert.equal(found.status, 200, found.text);
      assert.match(JSON.stringify(found.body), /marmalade/);
      assert.equal((await s.request('GET', path)).body.document_count, 1, 'the admin sees it, whole');
    });

    it("gives each user their own session for the same client-chosen key (PAGI's demo, isA's s1)", async () => {
      const as = (key: string) => ({ key, headers: { 'x-api-key': key } });
      const plan = async (key: string, prompt: string) => {
        const res = await s.request('POST', '/plan', { ...as(key), body: { prompt, session_id: 'demo' } });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.session_id, 'demo', 'PAGI reads back its own key');
        return (await s.request('GET', `/v1/runs/${res.body.run_id}`)).body.session_id as string;
      };
      const alices = await plan(alice, 'my secret is 1234');
      const bobs = await plan(bob, 'what did I say before?');
      assert.notEqual(bobs, alices, "Bob's demo is not Alice's");
      assert.equal(await plan(alice, 'and again'), alices, 'Alice comes back to hers');
      const mine = await s.request('GET', `/v1/sessions/${alices}`, { key: alice });
      assert.equal(mine.body.owner, 'user:alice');
      assert.equal((await s.request('GET', `/v1/sessions/${bobs}`, { key: bob })).body.owner, 'user:bob');
      const bobsHistory = await s.request('GET', `/v1/sessions/${bobs}/messages`, { key: bob });
      assert.deepEqual(
        bobsHistory.body.data
          .filter((m: { role: string }) => m.role === 'user')
          .map((m: { content: string }) => m.content),
        ['what did I say before?'],
      );
      assert.ok(!JSON.stringify(bobsHistory.body).includes('1234'));

      // isA's chat: the same rule.
      const isa = async (key: string) => {
        const res = await s.request('POST', '/api/v1/agents/chat', {
          ...as(key),
          body: { agent_config_id: 'default', message: 'hi', stream: false, session_id: 's1' },
        });
        assert.equal(res.status, 200, res.text);
        return res.body.session_id as string;
      };
      const aliceS1 = await isa(alice);
      assert.notEqual(await isa(bob), aliceS1);
      assert.equal(await isa(alice), aliceS1);
    });

    it('records the caller as owner of agents made by deployments and by the generator', async () => {
      const as = (key: string) => ({ key, headers: { 'x-api-key': key } });
      const local = await s.request('POST', '/v1/agents/local-dev', {
        key: alice,
        body: { name: 'Alice Bundle', visibility: 'private' },
      });
      assert.equal(local.status, 201, local.text);
      assert.equal(local.body.agent.owner, 'user:alice');
      assert.equal((await s.request('GET', `/v1/agents/${local.body.agent.id}`, { key: bob })).status, 404);
      assert.equal((await s.request('GET', `/v1/agents/${local.body.agent.id}`, { key: alice })).status, 200);

      const isaLocal = await s.request('POST', '/api/v1/agents/local-dev', {
        ...as(alice),
        body: { name: 'Alice Isa Local', deployment_id: 'deploy-001' },
      });
      assert.equal(isaLocal.status, 200, isaLocal.text);
      assert.equal(isaLocal.body.agent.owner_id, 'user:alice');

      const generated = await s.request('POST', '/v1/agents/generate', {
        key: alice,
        body: { requirement: 'An agent that answers questions about the weather' },
      });
      assert.equal(generated.status, 201, generated.text);
      assert.ok(generated.body.agents.length > 0);
      for (const a of generated.body.agents) assert.equal(a.owner, 'user:alice');

      const isaGenerated = await s.request('POST', '/api/v1/agents/generate', {
        ...as(bob),
        body: { requirement: 'An agent that summarises news articles' },
      });
      assert.equal(isaGenerated.status, 200, isaGenerated.text);
      assert.equal(isaGenerated.body.agent.owner_id, 'user:bob', "isA's config shape names it owner_id");
    });

    it("keeps the tasks of Alice's private agent from Bob, by id and in lists (ZORA)", async () => {
      const as = (key: string) => ({ key, headers: { 'x-api-key': key } });
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'Alice Hidden Worker', visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      const queued = await s.request('POST', '/api/agents/tasks', {
        ...as(alice),
        body: { agent_id: 'alice hidden worker', task_type: 'default', title: 'private chore' },
      });
      assert.equal(queued.status, 201, queued.text);
      assert.equal(queued.body.agent_id, 'Alice Hidden Worker', 'Alice sees the name');

      // What a private agent produced is as private as the agent (issue: visibility of an agent
      // extends to everything it produced): Bob neither lists the task nor reads it.
      const list = await s.request('GET', '/api/agents/tasks?limit=100', as(bob));
      assert.equal(list.status, 200, list.text);
      assert.ok(!list.body.tasks.some((t: { id: string }) => t.id === queued.body.id), 'not listed for Bob');
      assert.ok(!JSON.stringify(list.body).includes('Alice Hidden Worker'), 'the name does not leak');
      const one = await s.request('GET', `/api/agents/tasks/${queued.body.id}`, as(bob));
      assert.equal(one.status, 404, one.text);
      const hers = await s.request('GET', `/api/agents/tasks/${queued.body.id}`, as(alice));
      assert.equal(hers.body.agent_id, 'Alice Hidden Worker');
      const mine = await s.request('GET', '/api/agents/tasks?limit=100', as(alice));
      assert.ok(
        mine.body.tasks.some((t: { id: string }) => t.id === queued.body.id),
        'Alice lists it',
      );
      const admin = await s.request('GET', `/api/agents/tasks/${queued.body.id}`);
      assert.equal(admin.status, 200, 'the tenant admin reads it');
    });

    it("keeps Alice's private session from Bob: no history, no message into it, no delete", async () => {
      const agent = await s.request('POST', '/v1/agents', { key: alice, body: { name: 'Shared Desk' } });
      const chat = await s.request('POST', `/v1/agents/${agent.body.id}/chat`, {
        key: alice,
        body: { message: 'remember 42', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      const sessionPath = `/v1/sessions/${chat.body.session_id}`;
      const session = await s.request('GET', sessionPath, { key: alice });
      assert.equal(session.body.owner, 'user:alice');
      assert.equal(
        (await s.request('GET', sessionPath, { key: bob })).status,
        200,
        "the tenant's by default",
      );
      assert.equal(
        (await s.request('PATCH', sessionPath, { key: bob, body: { visibility: 'private' } })).status,
        403,
      );
      const hidden = await s.request('PATCH', sessionPath, { key: alice, body: { visibility: 'private' } });
      assert.equal(hidden.status, 200, hidden.text);
      assert.equal(hidden.body.visibility, 'private');

      assert.equal((await s.request('GET', sessionPath, { key: bob })).status, 404);
      assert.equal((await s.request('GET', `${sessionPath}/messages`, { key: bob })).status, 404);
      const into = await s.request('POST', `/v1/agents/${agent.body.id}/chat`, {
        key: bob,
        body: { message: 'what number?', session_id: chat.body.session_id, stream: false },
      });
      assert.equal(into.status, 404, into.text);
      assert.equal((await s.request('DELETE', sessionPath, { key: bob })).status, 404);
      const list = await s.request('GET', '/v1/sessions', { key: bob });
      assert.ok(!list.body.data.some((x: { id: string }) => x.id === chat.body.session_id));

      const search = await s.request('POST', '/v1/sessions/search', {
        key: bob,
        body: { query: 'remember 42' },
      });
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(search.body.data, [], 'its messages are not searchable by Bob');
      const runs = await s.request('GET', `/v1/runs?session_id=${chat.body.session_id}`, { key: bob });
      assert.deepEqual(runs.body.data, [], 'nor its runs listed');
      assert.equal((await s.request('GET', `/v1/runs/${chat.body.run_id}`, { key: bob })).status, 404);
      assert.equal((await s.request('GET', `/v1/runs/${chat.body.run_id}/trace`, { key: bob })).status, 404);
      assert.equal((await s.request('GET', `/v1/runs/${chat.body.run_id}`, { key: alice })).status, 200);
      const mine = await s.request('POST', '/v1/sessions/search', {
        key: alice,
        body: { query: 'remember 42' },
      });
      assert.ok(mine.body.data.length >= 1, 'Alice finds her own');
      assert.ok(mine.body.data.every((h: { session_id: string }) => h.session_id === chat.body.session_id));

      const history = await s.request('GET', `${sessionPath}/messages`, { key: alice });
      assert.equal(history.body.data.length, 2, 'nothing of Bob got in');
      assert.equal((await s.request('GET', sessionPath)).status, 200, 'the admin sees it');
    });
  });
}
