import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/**
 * An agent's own `budget` field: set by admins only, stored with the agent, enforced by the model
 * gateway for that agent's calls beside tenants.yaml's `budgets.agents` (the stricter wins).
 */

const ask = { model: 'mock/default', max_tokens: 3, messages: [{ role: 'user' as const, content: 'hi' }] };

for (const store of stores) {
  describe(`agents' own budgets on ${store}`, () => {
    let s: TestServer;
    let writeKey: string;
    let perCall: number;
    before(async () => {
      s = await startServer(store);
      const key = await s.request('POST', '/v1/keys', { body: { name: 'writer', scopes: ['write'] } });
      assert.equal(key.status, 201, key.text);
      writeKey = key.body.secret;
      const r = await s.request('POST', '/v1/chat/completions', { body: ask });
      assert.equal(r.status, 200, r.text);
      perCall = r.body.usage.total_tokens;
    });
    after(() => s.close());

    const setPolicy = (tenant: unknown) =>
      s.app.services.policies.set(tenantsFileSchema.parse({ tenants: { default: tenant } }));
    /** One model call billed to `agent` (as agents' runs and `X-Agentry-Agent` callers are). */
    const as = (agent: string) =>
      s.request('POST', '/v1/chat/completions', { body: ask, headers: { 'x-agentry-agent': agent } });
    const create = async (body: Record<string, unknown>) => {
      const r = await s.request('POST', '/v1/agents', { body });
      assert.equal(r.status, 201, r.text);
      return r.body as { id: string; name: string; version: number; budget: unknown };
    };

    it('is accepted on create, returned by GET and the list, changed by PATCH and cleared with null', async () => {
      const plain = await create({ name: 'no-budget' });
      assert.equal(plain.budget, null, 'an agent without one answers null');
      const budget = { tokens_per_day: 1000, cost_per_month: 2.5 };
      const a = await create({ name: 'budgeted', budget });
      assert.deepEqual(a.budget, budget);
      assert.deepEqual((await s.request('GET', `/v1/agents/${a.id}`)).body.budget, budget);
      const listed = await s.request('GET', '/v1/agents?name=budgeted');
      assert.deepEqual(listed.body.data[0].budget, budget);

      const changed = await s.request('PATCH', `/v1/agents/${a.id}`, {
        body: { budget: { tokens_per_month: 50_000 } },
      });
      assert.equal(changed.status, 200, changed.text);
      assert.deepEqual(changed.body.budget, { tokens_per_month: 50_000 }, 'the whole budget is replaced');
      const cleared = await s.request('PATCH', `/v1/agents/${a.id}`, { body: { budget: null } });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.body.budget, null);
      assert.equal((await s.request('GET', `/v1/agents/${a.id}`)).body.budget, null);
      const [row] = await s.app.db.query<{ cleared: boolean }>(
        'select budget is null as cleared from agents where id = $1',
        [a.id],
      );
      assert.equal(row?.cleared, true, 'stored as SQL null');
      // Other fields leave it alone.
      await s.request('PATCH', `/v1/agents/${a.id}`, { body: { budget } });
      await s.request('PATCH', `/v1/agents/${a.id}`, { body: { description: 'still capped' } });
      assert.deepEqual((await s.request('GET', `/v1/agents/${a.id}`)).body.budget, budget);
    });

    it('a write key that sends it gets 403 and nothing changes', async () => {
      const refused = await s.request('POST', '/v1/agents', {
        body: { name: 'self-capped', budget: { tokens_per_day: 10 } },
        key: writeKey,
      });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.body.error.code, 'forbidden');
      assert.match(refused.body.error.message, /admin/);
      assert.ok(refused.body.request_id);
      assert.equal((await s.request('GET', '/v1/agents/self-capped')).status, 404, 'not created');

      const a = await create({ name: 'capped', budget: { tokens_per_day: 10 } });
      const made = await s.request('POST', '/v1/agents', { body: { name: 'writers-own' }, key: writeKey });
      assert.equal(made.status, 201, 'a write key still creates agents without a budget');
      for (const budget of [{ tokens_per_day: 1_000_000 }, null, {}]) {
        for (const id of [a.id, made.body.id]) {
          const r = await s.request('PATCH', `/v1/agents/${id}`, {
            body: { description: 'lifted', budget },
            key: writeKey,
          });
          assert.equal(r.status, 403, r.text);
          assert.equal(r.body.error.code, 'forbidden');
        }
      }
      const got = (await s.request('GET', `/v1/agents/${a.id}`)).body;
      assert.deepEqual(got.budget, { tokens_per_day: 10 });
      assert.equal(got.description, '', 'no field of a refused patch is written');
      assert.equal(got.version, 1);
      const ok = await s.request('PATCH', `/v1/agents/${a.id}`, {
        body: { description: 'fine' },
        key: writeKey,
      });
      assert.equal(ok.status, 200, 'other fields stay a write key’s to change');
      assert.deepEqual(ok.body.budget, { tokens_per_day: 10 });
    });

    it('bad values are 400 and change nothing', async () => {
      const a = await create({ name: 'validated', budget: { tokens_per_day: 100 } });
      const bad: unknown[] = [
        { tokens_per_day: -1 },
        { tokens_per_day: 0 },
        { tokens_per_day: 1.5 },
        { tokens_per_month: '100' },
        { cost_per_day: 0 },
        { cost_per_month: -0.01 },
        { requests_per_minute: 5 },
        [100],
        'lots',
        42,
      ];
      for (const budget of bad) {
        const r = await s.request('PATCH', `/v1/agents/${a.id}`, { body: { budget } });
        assert.equal(r.status, 400, `${JSON.stringify(budget)}: ${r.text}`);
        assert.equal(r.body.error.code, 'validation_error');
        assert.match(r.body.error.message, /budget/);
        const c = await s.request('POST', '/v1/agents', { body: { name: 'never-made', budget } });
        assert.equal(c.status, 400, `create with ${JSON.stringify(budget)}`);
      }
      const got = (await s.request('GET', `/v1/agents/${a.id}`)).body;
      assert.deepEqual(got.budget, { tokens_per_day: 100 });
      assert.equal(got.version, 1);
    });

    it("refuses that agent's calls past its own budget, naming it, and not another agent's", async () => {
      setPolicy({});
      await create({ name: 'own-cap', budget: { tokens_per_day: perCall * 2 } });
      await create({ name: 'uncapped' });
      assert.equal((await as('own-cap')).status, 200);
      assert.equal((await as('own-cap')).status, 200);
      const third = await as('own-cap');
      assert.equal(third.status, 429, third.text);
      assert.match(third.body.error.message, /agent own-cap budget tokens_per_day/);
      for (let i = 0; i < 3; i++) assert.equal((await as('uncapped')).status, 200);
    });

    it("an agent's run is held to it as well", async () => {
      setPolicy({});
      const a = await create({ name: 'chatty', budget: { tokens_per_day: 1 } });
      const r = await s.request('POST', `/v1/agents/${a.id}/chat`, {
        body: { message: 'hello', stream: false },
      });
      assert.match(r.text, /agent chatty budget tokens_per_day/);
      const other = await create({ name: 'chatty-free' });
      const ok = await s.request('POST', `/v1/agents/${other.id}/chat`, {
        body: { message: 'hello', stream: false },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.doesNotMatch(ok.text, /budget/);
    });

    it('with tenants.yaml and its own budget, the stricter applies; null falls back to tenants.yaml', async () => {
      setPolicy({
        budgets: {
          agents: {
            'yaml-loose': { tokens_per_day: perCall * 5 },
            'yaml-strict': { tokens_per_day: perCall * 2, tokens_per_month: perCall * 100 },
          },
        },
      });
      const loose = await create({ name: 'yaml-loose', budget: { tokens_per_day: perCall * 2 } });
      await create({ name: 'yaml-strict', budget: { tokens_per_day: perCall * 5 } });
      for (const name of ['yaml-loose', 'yaml-strict']) {
        assert.equal((await as(name)).status, 200);
        assert.equal((await as(name)).status, 200);
        const third = await as(name);
        assert.equal(third.status, 429, `${name}: ${third.text}`);
        assert.match(third.body.error.message, new RegExp(`agent ${name} budget tokens_per_day`));
      }
      // Cleared: tenants.yaml's 5 calls a day apply, and the 2 already used still count.
      const cleared = await s.request('PATCH', `/v1/agents/${loose.id}`, { body: { budget: null } });
      assert.equal(cleared.status, 200);
      for (let i = 0; i < 3; i++) assert.equal((await as('yaml-loose')).status, 200, `call ${i + 3}`);
      assert.equal((await as('yaml-loose')).status, 429);
    });

    it("GET /v1/usage/budgets shows the limits in force: tenants.yaml's and the agent's own, the stricter", async () => {
      setPolicy({ budgets: { agents: { 'shown-both': { tokens_per_day: 500, cost_per_day: 9 } } } });
      await create({ name: 'shown-both', budget: { tokens_per_day: 200, tokens_per_month: 5000 } });
      await create({ name: 'shown-own', budget: { cost_per_month: 3 } });
      const r = await s.request('GET', '/v1/usage/budgets');
      assert.equal(r.status, 200, r.text);
      const limits = (agent: string) =>
        Object.fromEntries(
          (r.body.data as { agent: string; rule: string; limit: number }[])
            .filter((b) => b.agent === agent)
            .map((b) => [b.rule, b.limit]),
        );
      assert.deepEqual(limits('shown-both'), {
        tokens_per_day: 200,
        tokens_per_month: 5000,
        cost_per_day: 9,
      });
      assert.deepEqual(limits('shown-own'), { cost_per_month: 3 });
    });

    it('a budget set, changed or renamed through the API applies at the next call', async () => {
      setPolicy({});
      const a = await create({ name: 'late-cap' });
      assert.equal((await as('late-cap')).status, 200, 'the gateway now knows it has no budget');
      await s.request('PATCH', `/v1/agents/${a.id}`, { body: { budget: { tokens_per_day: perCall } } });
      // Counters run while a budget applies (as for tenants.yaml's): the call before it is not counted.
      assert.equal((await as('late-cap')).status, 200);
      assert.equal((await as('late-cap')).status, 429, 'the new budget is read at once');
      await s.request('PATCH', `/v1/agents/${a.id}`, { body: { budget: { tokens_per_day: perCall * 3 } } });
      assert.equal((await as('late-cap')).status, 200, 'raised');
      const renamed = await s.request('PATCH', `/v1/agents/${a.id}`, { body: { name: 'late-cap-2' } });
      assert.equal(renamed.status, 200);
      assert.equal((await as('late-cap')).status, 200, 'the old name has no budget any more');
      // Usage counts by name, as for tenants.yaml's entries: the new name starts the day unused.
      for (let i = 0; i < 3; i++) assert.equal((await as('late-cap-2')).status, 200);
      assert.equal((await as('late-cap-2')).status, 429, 'the budget went with the agent');
    });

    if (store === 'postgres') {
      it('another process of the fleet hears of a changed budget and applies it', async () => {
        setPolicy({});
        const other: App = await createApp(
          testConfig({ log_level: 'silent', store: s.app.services.config.store }),
          { log: createLogger('silent') },
        );
        try {
          const a = await create({ name: 'fleet-cap' });
          const ctx = { tenantId: s.app.defaultTenantId, tenantName: 'default', agentName: 'fleet-cap' };
          await other.services.models.complete(ask, ctx);
          await s.request('PATCH', `/v1/agents/${a.id}`, { body: { budget: { tokens_per_day: 1 } } });
          let refused: { code?: string } | undefined;
          // Bounded at 20 s: the change reaches the other process when its bus or cache lets it.
          for (let i = 0; i < 200 && !refused; i++) {
            await new Promise((r) => setTimeout(r, 100));
            refused = await other.services.models.complete(ask, ctx).then(
              () => undefined,
              (err: { code?: string }) => err,
            );
          }
          // One token a day can never fit a call: refused as too big for the budget, not as spent.
          assert.equal(refused?.code, 'exceeds_limit', 'the other process refused within 5 s');
        } finally {
          await other.close();
        }
      });
    }
  });
}
