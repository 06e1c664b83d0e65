import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { closedPort } from '../helpers/closed-port.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** A Redis of this test's own on a spare loopback port (never the machine's), with nothing saved. */
async function startRedis(): Promise<{ url: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const port = await closedPort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}/0`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  await eventually(
    async () => {
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        probe.disconnect();
        return undefined;
      }
    },
    10_000,
    'redis-server to answer',
  );
  probe.disconnect();
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await once(proc, 'exit');
  };
  return { url, proc, stop };
}

describe('GET /health with Redis configured', () => {
  let s: TestServer;
  let redis: Awaited<ReturnType<typeof startRedis>>;
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
