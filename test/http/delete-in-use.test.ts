import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../runtime/helpers.ts';

for (const store of stores) {
  describe(`deleting what something still uses is refused, naming it (${store})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s?.close());

    const del = (path: string) => s.request('DELETE', path);

    it('an agent in a team or named as a handoff: 409 with the teams and agents; free again once they let go', async () => {
      const a = await createAgent(s, { name: 'writer', model: 'mock/default' });
      const b = await createAgent(s, { name: 'editor', model: 'mock/default', handoffs: ['writer'] });
      const team = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'desk', kind: 'dag', members: [a.id, b.id], entry_agent_id: b.id, edges: [] },
      });
      assert.equal(team.status, 201, team.text);

      const refused = await del(`/v1/agents/${a.id}`);
      assert.equal(refused.status, 409, refused.text);
      assert.equal(refused.body.error.code, 'conflict');
      assert.match(
        refused.body.error.message,
        /agent writer is in use by team desk, agent editor \(hands off to it\)/,
      );
      assert.deepEqual(refused.body.error.details.used_by, [
        { kind: 'team', id: team.body.id, name: 'desk' },
        { kind: 'agent', id: b.id, name: 'editor', how: 'hands off to it' },
      ]);
      assert.equal((await s.request('GET', `/v1/agents/${a.id}`)).status, 200, 'still there');

      assert.equal((await del(`/v1/multi-agents/${team.body.id}`)).status, 204);
      await s.request('PATCH', `/v1/agents/${b.id}`, { body: { handoffs: [] } });
      assert.equal((await del(`/v1/agents/${a.id}`)).status, 204);
    });

    it('a knowledge base an agent searches, and a team an agent runs', async () => {
      const kb = await s.request('POST', '/v1/knowledge-bases', {
        body: { name: 'manuals', kind: 'domain' },
      });
      assert.equal(kb.status, 201, kb.text);
      const reader = await createAgent(s, { name: 'reader', model: 'mock/default', knowledge: ['manuals'] });
      const refused = await del(`/v1/knowledge-bases/${kb.body.id}`);
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.body.error.message, /knowledge base manuals is in use by agent reader/);

      const team = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'solo', kind: 'swarm', members: [reader.id], entry_agent_id: reader.id },
      });
      const front = await createAgent(s, {
        name: 'front',
        model: 'mock/default',
        env: 'multi_agent',
        multi_agent_id: team.body.id,
      });
      const teamRefused = await del(`/v1/multi-agents/${team.body.id}`);
      assert.equal(teamRefused.status, 409, teamRefused.text);
      assert.deepEqual(teamRefused.body.error.details.used_by, [
        { kind: 'agent', id: front.id, name: 'front', how: 'runs it' },
      ]);
    });

    it('a template agents were made from: 409 naming them, or unlinked with force=true', async () => {
      const t = await s.request('POST', '/v1/templates', {
        body: { name: 'greeter', system_prompt: 'Greet.', model: 'mock/default' },
      });
      assert.equal(t.status, 201, t.text);
      const made = await createAgent(s, { name: 'greeter-1', template_id: t.body.id });
      const refused = await del(`/v1/templates/${t.body.id}`);
      assert.equal(refused.status, 409, refused.text);
      assert.match(
        refused.body.error.message,
        /template greeter is in use by agent greeter-1 \(made from it\)/,
      );
      assert.equal((await del(`/v1/templates/${t.body.id}?force=maybe`)).status, 400);
      assert.equal((await del(`/v1/templates/${t.body.id}?force=true`)).status, 204);
      const agent = await s.request('GET', `/v1/agents/${made.id}`);
      assert.equal(agent.body.template_id, null);
      assert.equal(agent.body.system_prompt, 'Greet.', 'the agent keeps what the template gave it');
    });
  });
}
