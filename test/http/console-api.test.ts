import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant } from '../auth/fixtures.ts';
// @ts-expect-error: a plain .mjs fixture (the same SDK server the stdio fixture runs), untyped
import { startHttpMcpServer } from '../fixtures/mcp/http-server.mjs';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { FakeEmbeddings, serverWithEmbeddings } from '../memory/fake-embeddings.ts';
import { addDoc, createKb, search } from '../memory/fixtures.ts';
import { createAgent } from '../runtime/helpers.ts';

type Point = { key: string; requests: number; input_tokens: number; t: string };

/** The routes the console reads beyond the rest of the API: usage over time, budgets, task time filters, MCP probes. */
for (const store of stores) {
  describe(`console API routes on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    const complete = (agent: string, model = 'mock/default') =>
      s.request('POST', '/v1/chat/completions', {
        body: { model, messages: [{ role: 'user', content: 'hi' }] },
        headers: { 'x-agentry-agent': agent },
      });

    it('answers usage per bucket and agent or model, and refuses other tenants and too many buckets', async () => {
      for (const agent of ['alpha', 'alpha', 'beta']) assert.equal((await complete(agent)).status, 200);
      const res = await s.request('GET', '/v1/usage/series?bucket=minute&by=agent');
      assert.equal(res.status, 200, res.text);
      // Summed over buckets: the calls may straddle a minute (or, below, a day) boundary.
      const requests = (data: Point[]) => {
        const sums: Record<string, number> = {};
        for (const p of data) sums[p.key] = (sums[p.key] ?? 0) + p.requests;
        return sums;
      };
      assert.deepEqual(requests(res.body.data), { alpha: 2, beta: 1 });
      const alpha = (res.body.data as Point[]).find((p) => p.key === 'alpha')!;
      assert.ok(alpha.input_tokens > 0);
      assert.match(alpha.t, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/);

      const models = await s.request('GET', '/v1/usage/series?by=model&bucket=day');
      assert.deepEqual(requests(models.body.data), { 'mock/default': 3 });

      const other = await createTenant(s, 'usage-other');
      const theirs = await s.request('GET', '/v1/usage/series?by=tenant', { key: other.adminKey });
      assert.deepEqual(theirs.body.data, [], "another tenant sees none of this tenant's usage");
      const all = await s.request('GET', '/v1/usage/series?by=tenant&all_tenants=true', {
        key: other.adminKey,
      });
      assert.equal(all.status, 403, 'every tenant is for root admins');
      const root = await s.request('GET', '/v1/usage/series?by=tenant&all_tenants=true');
      assert.equal(root.status, 200, root.text);

      assert.equal(
        (await s.request('GET', '/v1/usage/series?bucket=minute&since=2020-01-01T00:00:00Z')).status,
        400,
      );
      assert.equal((await s.request('GET', '/v1/usage/series?by=key')).status, 400);
    });

    it('reports each budget with what is used and what remains', async () => {
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({
        tenants: {
          [me!.name]: { budgets: { tokens_per_day: 1_000_000, agents: { alpha: { cost_per_month: 5 } } } },
        },
      });
      try {
        const res = await s.request('GET', '/v1/usage/budgets');
        assert.equal(res.status, 200, res.text);
        const [tenant, alpha] = res.body.data;
        assert.equal(tenant.rule, 'tokens_per_day');
        assert.equal(tenant.scope, 'tenant');
        assert.ok(tenant.used > 0, 'the calls above count');
        assert.equal(tenant.remaining, tenant.limit - tenant.used);
        assert.equal(alpha.agent, 'alpha');
        assert.equal(alpha.rule, 'cost_per_month');
        assert.ok(Date.parse(alpha.resets_at) > Date.now());
      } finally {
        s.app.services.policies.set({ tenants: {} });
      }
    });

    it('filters tasks by creation time', async () => {
      const agent = await createAgent(s, { name: 'timed', model: 'mock/default' });
      const before = new Date().toISOString();
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'default', title: 'timed task' },
      });
      assert.equal(res.status, 202, res.text);
      const since = await s.request('GET', `/v1/tasks?since=${encodeURIComponent(before)}`);
      assert.deepEqual(
        since.body.data.map((t: { id: string }) => t.id),
        [res.body.id],
      );
      const until = await s.request('GET', `/v1/tasks?until=${encodeURIComponent(before)}`);
      assert.ok(!until.body.data.some((t: { id: string }) => t.id === res.body.id));
      assert.equal((await s.request('GET', '/v1/tasks?since=yesterday')).status, 400);
    });

    it('tries an MCP server on request: its tools when it answers, the reason when not', async () => {
      const fixture = await startHttpMcpServer();
      const me = await s.app.services.tenants.find(s.app.defaultTenantId);
      s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
      try {
        const up = await s.request('POST', '/v1/mcp-servers', {
          body: { name: 'probe', transport: 'http', url: fixture.url },
        });
        assert.equal(up.status, 201, up.text);
        const ok = await s.request('POST', `/v1/mcp-servers/${up.body.id}/test`);
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.body.ok, true);
        assert.ok(ok.body.tools.length > 0);
        await fixture.close();
        const down = await s.request('POST', `/v1/mcp-servers/${up.body.id}/test`);
        assert.equal(down.body.ok, false);
        assert.ok(down.body.error.length > 0);
        const reader = (await createKey(s, ['read'])).secret;
        const refused = await s.request('POST', `/v1/mcp-servers/${up.body.id}/test`, { key: reader });
        assert.equal(refused.status, 403);
        const missing = await s.request('POST', `/v1/mcp-servers/${crypto.randomUUID()}/test`);
        assert.equal(missing.status, 404);
      } finally {
        s.app.services.policies.set({ tenants: {} });
      }
    });
  });

  describe(`search with explain on ${store}`, () => {
    let s: TestServer;
    const upstream = new FakeEmbeddings();
    before(async () => {
      s = await serverWithEmbeddings(store, upstream);
    });
    after(() => s.close());

    it('gives each hit its full-text and vector score beside the fused one', async () => {
      const kb = await createKb(s, 'explained');
      await addDoc(s, kb.id, { source: 'dogs.md', content: '# Dogs\n\nFeed the puppy twice a day.' });
      await addDoc(s, kb.id, { source: 'alarm.md', content: '# Alarm\n\nSwitch the siren off at night.' });
      const res = await search(s, kb.id, { query: 'feed the dog', explain: true, top_k: 2 });
      type Explained = { text_score: number; vector_score: number; document: { source: string } };
      const [first, second] = res.data as unknown as [Explained, Explained];
      assert.equal(first.document.source, 'dogs.md');
      assert.ok(first.text_score > 0, 'the query words match');
      assert.ok(first.vector_score > second.vector_score, 'closer in meaning');
      assert.ok(first.vector_score <= 1 + 1e-9);
      const plain = await search(s, kb.id, { query: 'feed the dog', top_k: 2 });
      assert.equal((plain.data[0] as { text_score?: number }).text_score, undefined, 'only when asked');
    });
  });
}
