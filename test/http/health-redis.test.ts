import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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

  it('is green with Redis up, amber (degraded, 200) with Redis stopped, and green again when it is back', async () => {
    const up = await s.request('GET', '/health', { key: null });
    assert.equal(up.status, 200, up.text);
    assert.equal(up.body.status, 'ok');
    assert.equal(up.body.overall, 'green');
    assert.equal(up.body.components.redis.status, 'ok');

    await redis.stop();
    const down = await eventually(async () => {
      const res = await s.request('GET', '/health', { key: null });
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
});
