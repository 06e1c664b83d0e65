import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { eventually } from '../helpers/eventually.ts';
import { type RedisServer, startRedis } from '../helpers/redis-server.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('GET /health with Redis configured', () => {
  let s: TestServer;
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
    s = await startServer('pglite', { redis_url: redis.url });
  });
  after(async () => {
    await s.close();
    await redis.stop();
  });

  it('is green with Redis up and amber (degraded, 200) with Redis stopped', async () => {
    // Green once the app's own connection to Redis is up: the server starts without waiting for it,
    // and on a loaded machine the first report can come before it (its Redis then reads `down`).
    let last = '';
    const up = await eventually(async () => {
      const res = await s.request('GET', '/health');
      last = res.text;
      return res.body.status === 'ok' ? res : undefined;
    }).catch((err) => assert.fail(`${err.message}: the last report was ${last}`));
    assert.equal(up.status, 200, up.text);
    assert.equal(up.body.status, 'ok');
    assert.equal(up.body.overall, 'green');
    assert.equal(up.body.components.redis.status, 'ok');

    await redis.stop();
    const down = await eventually(async () => {
      // With a key: the error says why (without one, only the status shows).
      const res = await s.request('GET', '/health');
      return res.body.components.redis.status === 'down' ? res : undefined;
    });
    assert.equal(down.status, 200, down.text);
    assert.equal(down.body.status, 'degraded');
    assert.equal(down.body.overall, 'amber');
    assert.equal(down.body.components.store.status, 'ok');
    assert.ok(down.body.components.redis.error, 'says why');

    // Orchestrators keep the instance: Redis is not essential, the process lives.
    const ready = await s.request('GET', '/health/ready', { key: null });
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.body.status, 'ok');
    assert.equal((await s.request('GET', '/health/live', { key: null })).status, 200);
  });

  it('serves a fail_open tenant unmetered while Redis is down (amber), and refuses a strict one with 503', async () => {
    // Per-key rate limits, counted in Redis: a key made now has no lease yet, so its first call
    // must reach Redis. (Redis was stopped by the test before.)
    const strict = await createTenant(s, 'strict-limits');
    s.app.services.policies.set({
      tenants: {
        default: { fail_open: true, rate_limits: { per_key: { requests_per_minute: 1000 } } },
        'strict-limits': { fail_open: false, rate_limits: { per_key: { requests_per_minute: 1000 } } },
      },
    });
    const chat = async (adminKey: string) => {
      const key = await s.request('POST', '/v1/keys', { body: { scopes: ['write'] }, key: adminKey });
      assert.equal(key.status, 201, key.text);
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'limited' }, key: adminKey });
      assert.equal(agent.status, 201, agent.text);
      return s.request('POST', `/v1/agents/${agent.body.id}/chat`, {
        body: { message: 'hello', stream: false },
        key: key.body.secret,
      });
    };
    const open = await chat(s.adminKey);
    assert.equal(open.status, 200, open.text);
    const refused = await chat(strict.adminKey);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.error.code, 'store_unavailable');
    assert.ok(refused.headers.get('retry-after'));

    const health = await s.request('GET', '/health', { key: null });
    assert.equal(health.status, 200, health.text);
    assert.equal(health.body.overall, 'amber');
    assert.equal(health.body.components.redis.status, 'down');
  });
});
