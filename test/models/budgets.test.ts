import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { type ConfigInput, testConfig } from '../../src/config/config.ts';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

const ask = { model: 'mock/default', max_tokens: 3, messages: [{ role: 'user' as const, content: 'hi' }] };

function setPolicy(s: TestServer, tenant: unknown) {
  s.app.services.policies.set(tenantsFileSchema.parse({ tenants: { default: tenant } }));
}

/** Tokens one `ask` uses, measured (the mock's usage is deterministic). */
async function tokensPerCall(s: TestServer): Promise<number> {
  const r = await s.request('POST', '/v1/chat/completions', { body: ask });
  assert.equal(r.status, 200, r.text);
  return r.body.usage.total_tokens;
}

/** One `ask` straight through an app's gateway: true if served, false if refused as rate-limited. */
function served(app: App, ctx: { tenantId: string; tenantName: string }): Promise<boolean> {
  return app.services.models.complete(ask, ctx).then(
    () => true,
    (err: { code?: string }) => {
      assert.equal(err.code, 'rate_limited');
      return false;
    },
  );
}

/** Another app on the same database as `s`, as a second process would be. */
function anotherProcess(s: TestServer, config: ConfigInput = {}): Promise<App> {
  return createApp(testConfig({ log_level: 'silent', store: s.app.services.config.store, ...config }), {
    log: createLogger('silent'),
  });
}

/** Rate windows are calendar minutes: start a burst early in one, so it cannot straddle two. */
async function awayFromMinuteEdge() {
  const s = new Date().getUTCSeconds();
  if (s >= 55) await new Promise((r) => setTimeout(r, (61 - s) * 1000));
}

for (const store of stores) {
  describe(`budgets on ${store}`, () => {
    let s: TestServer;
    let perCall: number;
    before(async () => {
      s = await startServer(store);
      perCall = await tokensPerCall(s);
    });
    after(() => s.close());

    it('50 concurrent requests against a nearly spent budget never overspend it', async () => {
      // A fresh day budget of 8 calls' worth (+1 token of slack), 3 of them spent first.
      setPolicy(s, { budgets: { tokens_per_day: perCall * 8 + 1 } });
      await s.app.services.models.flush();
      const { db } = s.app;
      await db.query(`delete from limit_counters`);
      for (let i = 0; i < 3; i++)
        assert.equal((await s.request('POST', '/v1/chat/completions', { body: ask })).status, 200);

      const results = await Promise.all(
        Array.from({ length: 50 }, () => s.request('POST', '/v1/chat/completions', { body: ask })),
      );
      const ok = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 429);
      assert.equal(ok, 5, 'exactly the 5 calls that fit are served');
      assert.equal(refused.length, 45);
      assert.match(refused[0]!.body.error.message, /tenant default budget tokens_per_day exceeded/);
      assert.ok(Number(refused[0]!.headers.get('retry-after')) > 0);

      await s.app.services.models.flush();
      const [counter] = await db.query<{ used: number }>(
        `select used from limit_counters where key like 'b:%:t:tokens:%' and key not like '%-__-__:%' and length(key) > 0 order by length(key) desc limit 1`,
      );
      assert.ok(counter);
      assert.ok(counter.used <= perCall * 8 + 1, `store says ${counter.used} used`);
      assert.equal(
        counter.used,
        perCall * 8,
        'the store holds exactly what was used once allotments are settled',
      );
    });

    it('per-agent budgets refuse that agent only, naming it', async () => {
      setPolicy(s, { budgets: { agents: { 'support-bot': { tokens_per_day: perCall * 2 } } } });
      const as = (agent: string) =>
        s.request('POST', '/v1/chat/completions', { body: ask, headers: { 'x-agentry-agent': agent } });
      assert.equal((await as('support-bot')).status, 200);
      assert.equal((await as('support-bot')).status, 200);
      const third = await as('support-bot');
      assert.equal(third.status, 429);
      assert.match(third.body.error.message, /agent support-bot budget tokens_per_day/);
      assert.equal((await as('other-bot')).status, 200);
    });

    it('reservations are sized from the request: a small budget admits small calls and refuses big ones', async () => {
      const small = await startServer(store, {
        models: { aliases: { persona: 'mock/default' }, output_tokens: { persona: 4 } },
      });
      try {
        const long = { role: 'user' as const, content: 'say a long thing '.repeat(20) };
        const prompt = (
          await small.request('POST', '/v1/chat/completions', {
            body: { model: 'persona', messages: [long] },
          })
        ).body.usage.prompt_tokens as number;
        small.app.services.policies.set(
          tenantsFileSchema.parse({
            tenants: { default: { budgets: { tokens_per_day: 3 * (prompt + 4) } } },
          }),
        );
        await small.app.services.models.flush();
        await small.app.db.query('delete from limit_counters');
        const call = (model: string, extra: Record<string, unknown> = {}) =>
          small.request('POST', '/v1/chat/completions', { body: { model, messages: [long], ...extra } });
        // No max_tokens: the model's typical output (4) is reserved, and the answer is held to it.
        const first = await call('persona');
        assert.equal(first.status, 200, first.text);
        assert.ok(first.body.usage.completion_tokens <= 4, JSON.stringify(first.body.usage));
        assert.equal(first.body.choices[0].finish_reason, 'length');
        // Without a typical output configured, the default (4096) is more than the whole budget: it
        // can never fit, so it is a 400 saying so, not a 429 to retry once the day is over.
        const unsized = await call('mock/default');
        assert.equal(unsized.status, 400, unsized.text);
        assert.equal(unsized.body.error.code, 'exceeds_limit');
        assert.equal(unsized.headers.get('retry-after'), null);
        assert.match(
          unsized.body.error.message,
          new RegExp(
            `^tenant default budget tokens_per_day is ${3 * (prompt + 4)}, but this call may use up to ${prompt + 4096} tokens .*it can never fit; lower max_tokens or raise the limit$`,
          ),
        );
        // An explicit max_tokens is what is reserved: too big refused, small admitted.
        assert.equal((await call('persona', { max_tokens: 10_000 })).status, 400);
        assert.equal((await call('persona', { max_tokens: 4 })).status, 200);
        assert.equal((await call('persona')).status, 200);
        // Three calls' worth used: the fourth would overspend, and fits again tomorrow (429).
        assert.equal((await call('persona')).status, 429);
        // Settled and flushed, the limiter holds exactly what was used; what it holds beyond that (a
        // slice another process took, calls in flight) shows as reserved beside the usage.
        await small.app.services.models.flush();
        const [settled] = (await small.request('GET', '/v1/usage/budgets')).body.data;
        assert.equal(settled.reserved, 0, JSON.stringify(settled));
        await small.app.db.query(
          `update limit_counters set used = $1::float8 + 7 where key like 'b:%:t:tokens:____-__-__'`,
          [settled.used],
        );
        const [held] = (await small.request('GET', '/v1/usage/budgets')).body.data;
        assert.equal(held.reserved, 7, JSON.stringify(held));
      } finally {
        await small.close();
      }
    });

    it('cost budgets use the configured prices', async () => {
      setPolicy(s, { budgets: { cost_per_month: 1e-9 } });
      const r = await s.request('POST', '/v1/chat/completions', { body: ask });
      // mock/default has no price: it costs nothing, so a tiny cost budget does not stop it.
      assert.equal(r.status, 200);
    });

    if (store === 'postgres') {
      it('two processes on one database share the budget: 50 concurrent calls split across them', async () => {
        const other = await anotherProcess(s);
        try {
          const policy = tenantsFileSchema.parse({
            tenants: { default: { budgets: { tokens_per_month: perCall * 7 } } },
          });
          s.app.services.policies.set(policy);
          other.services.policies.set(policy);
          await s.app.services.models.flush();
          await s.app.db.query(`delete from limit_counters`);
          const ctx = {
            tenantId: s.app.defaultTenantId,
            tenantName: 'default',
          };
          const calls = Array.from({ length: 50 }, (_, i) => served(i % 2 ? other : s.app, ctx));
          const ok = (await Promise.all(calls)).filter(Boolean).length;
          assert.ok(ok <= 7, `${ok} calls served, the budget holds 7`);
          assert.ok(ok >= 1);
          await Promise.all([s.app.services.models.flush(), other.services.models.flush()]);
          const rows = await s.app.db.query<{ used: number }>(
            `select used from limit_counters where key like 'b:%:t:tokens:____-__'`,
          );
          assert.equal(rows[0]?.used, ok * perCall);
        } finally {
          await other.close();
        }
      });
    }

    if (store === 'postgres' && process.env.REDIS_URL) {
      it('two processes with one Redis share a rate limit: exactly the limit is served between them', async () => {
        await awayFromMinuteEdge();
        const open = () => anotherProcess(s, { redis_url: process.env.REDIS_URL });
        const apps = [await open(), await open()];
        try {
          const policy = tenantsFileSchema.parse({
            tenants: { default: { rate_limits: { requests_per_minute: 10 } } },
          });
          for (const app of apps) app.services.policies.set(policy);
          const ctx = { tenantId: s.app.defaultTenantId, tenantName: 'default' };
          const calls = Array.from({ length: 30 }, (_, i) => served(apps[i % 2]!, ctx));
          // Per-process counters would serve 10 in each process, 20 in all.
          assert.equal((await Promise.all(calls)).filter(Boolean).length, 10);
        } finally {
          for (const app of apps) await app.close();
        }
      });
    }
  });
}

const rateStores: Array<{ name: string; redis?: string }> = [{ name: 'the database' }];
if (process.env.REDIS_URL) rateStores.push({ name: 'redis', redis: process.env.REDIS_URL });

for (const rs of rateStores) {
  describe(`rate limits in ${rs.name}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer('pglite', rs.redis ? { redis_url: rs.redis } : {});
    });
    after(() => s.close());

    it('requests per minute per tenant → 429 with Retry-After, then per key', async () => {
      await awayFromMinuteEdge();
      setPolicy(s, { rate_limits: { requests_per_minute: 3 } });
      for (let i = 0; i < 3; i++)
        assert.equal((await s.request('POST', '/v1/chat/completions', { body: ask })).status, 200);
      const fourth = await s.request('POST', '/v1/chat/completions', { body: ask });
      assert.equal(fourth.status, 429);
      assert.match(fourth.body.error.message, /requests_per_minute/);
      const retry = Number(fourth.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 60);
      const health = await s.request('GET', '/health');
      assert.equal(health.body.components.model_providers.detail.limits_store, rs.redis ? 'redis' : 'db');
    });

    it('tokens per minute per key', async () => {
      await awayFromMinuteEdge();
      const key = await s.request('POST', '/v1/keys', { body: { name: `k-${rs.name}`, scopes: ['write'] } });
      assert.equal(key.status, 201, key.text);
      setPolicy(s, { rate_limits: { per_key: { tokens_per_minute: 60 } } });
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) {
        codes.push(
          (await s.request('POST', '/v1/chat/completions', { body: ask, key: key.body.secret })).status,
        );
      }
      assert.ok(codes.includes(200) && codes.includes(429), `codes ${codes}`);
      assert.ok(
        codes.indexOf(429) > codes.lastIndexOf(200),
        'once refused, refused for the rest of the minute',
      );
      // Another key of the same tenant is not limited by this one's use.
      assert.equal((await s.request('POST', '/v1/chat/completions', { body: ask })).status, 200);
    });
  });
}

describe('fail_open when the limit store cannot be reached', () => {
  let s: TestServer;
  before(async () => {
    // Nothing listens on port 1: every Redis command fails at once.
    s = await startServer('pglite', { redis_url: 'redis://127.0.0.1:1' });
  });
  after(() => s.close());

  it('serves a fail_open tenant and refuses others with 503', async () => {
    setPolicy(s, { fail_open: true, rate_limits: { requests_per_minute: 100 } });
    const open = await s.request('POST', '/v1/chat/completions', { body: ask });
    assert.equal(open.status, 200, open.text);
    setPolicy(s, { fail_open: false, rate_limits: { requests_per_minute: 100 } });
    const closed = await s.request('POST', '/v1/chat/completions', { body: ask });
    assert.equal(closed.status, 503);
    assert.match(closed.body.error.message, /cannot be reached/);
  });
});
