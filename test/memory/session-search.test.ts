import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';
import { chat } from './loop-helpers.ts';

interface Hit {
  session_id: string;
  agent: { id: string; name: string | null };
  seq: number;
  role: string;
  content: string;
  run_id: string | null;
  score: number;
}

for (const store of stores) {
  describe(`session search on ${store}`, () => {
    let s: TestServer;
    let other: { adminKey: string };
    const sessions = { keeper: '', guide: '', stranger: '' };
    const agents = { keeper: '', guide: '', stranger: '' };

    const search = async (body: Record<string, unknown>, key?: string) => {
      const res = await s.request('POST', '/v1/sessions/search', { body, key });
      assert.equal(res.status, 200, res.text);
      return res.body.data as Hit[];
    };

    before(async () => {
      s = await startServer(store);
      other = await createTenant(s, 'elsewhere');
      agents.keeper = (await createAgent(s, { name: 'keeper' })).id;
      agents.guide = (await createAgent(s, { name: 'guide' })).id;
      sessions.keeper = (
        await chat(s, agents.keeper, { message: 'The zebra escaped from the zoo at noon' })
      ).session_id;
      sessions.guide = (
        await chat(s, agents.guide, { message: 'Where is the zebra crossing near the school?' })
      ).session_id;
      await chat(s, agents.guide, { message: 'What time does the library open?' });
      const res = await s.request('POST', '/v1/agents', { body: { name: 'stranger' }, key: other.adminKey });
      agents.stranger = res.body.id;
      sessions.stranger = (
        await chat(s, agents.stranger, { message: 'zebra stripes are unique' }, other.adminKey)
      ).session_id;
    });
    after(() => s.close());

    it("finds a tenant's past messages by words, best first, with session, agent and score", async () => {
      const hits = await search({ query: 'zebra escaped' });
      assert.ok(hits.length >= 2);
      const top = hits[0]!;
      assert.equal(top.session_id, sessions.keeper);
      assert.deepEqual(top.agent, { id: agents.keeper, name: 'keeper' });
      assert.match(top.content, /zebra escaped/);
      assert.ok(['user', 'assistant'].includes(top.role));
      assert.match(top.run_id ?? '', /^[0-9a-f-]{36}$/);
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score);
      assert.deepEqual(new Set(hits.map((h) => h.session_id)), new Set([sessions.keeper, sessions.guide]));
      assert.ok(hits.every((h) => /zebra/i.test(h.content)));
    });

    it("limits to one agent's sessions, and never crosses tenants", async () => {
      const guide = await search({ query: 'zebra', agent_id: agents.guide });
      assert.ok(guide.length > 0);
      assert.ok(guide.every((h) => h.session_id === sessions.guide && h.agent.id === agents.guide));
      const theirs = await search({ query: 'zebra' }, other.adminKey);
      assert.ok(theirs.length > 0);
      assert.ok(theirs.every((h) => h.session_id === sessions.stranger));
      // Naming another tenant's agent finds nothing, rather than its sessions.
      assert.deepEqual(await search({ query: 'zebra', agent_id: agents.stranger }), []);
      assert.deepEqual(await search({ query: 'giraffe' }), []);
      assert.equal((await search({ query: 'zebra', limit: 1 })).length, 1);
    });

    it('refuses a malformed search with 400', async () => {
      for (const body of [
        {},
        { query: '' },
        { query: 'x', limit: 0 },
        { query: 'x', agent_id: '' },
        { query: 'x', extra: 1 },
      ]) {
        const res = await s.request('POST', '/v1/sessions/search', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
      }
      // agent_id takes an id or a name: a name no agent has is not found.
      const unknown = await s.request('POST', '/v1/sessions/search', {
        body: { query: 'x', agent_id: 'nope' },
      });
      assert.equal(unknown.status, 404, unknown.text);
    });
  });
}
