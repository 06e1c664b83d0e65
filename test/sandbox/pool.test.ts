import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AppError } from '../../src/errors.ts';
import { WarmPool } from '../../src/tools/sandbox/pool.ts';
import { QuickJsBackend } from '../../src/tools/sandbox/quickjs.ts';
import { SandboxRefusal } from '../../src/tools/sandbox/types.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { eventually, MiB } from './host.ts';

const limits = {
  timeout_ms: 2_000,
  cpu_seconds: 10,
  cpu_quota: 1,
  memory_bytes: 32 * MiB,
  max_processes: 1,
  max_open_files: 1,
  workspace_bytes: MiB,
  max_output_bytes: 4096,
};

describe('warm pool', () => {
  const log = pino({ level: 'silent' });

  it('keeps N sandboxes ready, uses each once and replaces it in the background', async () => {
    const pool = new WarmPool(
      new QuickJsBackend(limits),
      { size: 2, max_total: 4, acquire_timeout_ms: 2_000 },
      log,
    );
    pool.start();
    try {
      await eventually(() => pool.stats().ready === 2, 'the pool fills up');
      const first = await pool.acquire();
      const second = await pool.acquire();
      assert.notEqual(first.id, second.id);
      assert.equal(pool.stats().busy, 2);
      pool.release(first);
      pool.release(second);
      await eventually(
        () => pool.stats().destroyed === 2 && pool.stats().ready === 2,
        'released ones are replaced',
      );
      const third = await pool.acquire();
      assert.ok(![first.id, second.id].includes(third.id), 'a released sandbox is never handed out again');
      pool.release(third);
      const stats = pool.stats();
      assert.ok(stats.created >= 4);
      assert.ok(stats.acquire_wait_ms.p99 >= stats.acquire_wait_ms.p50);
    } finally {
      await pool.stop();
    }
  });

  it('prepares a replacement at release while half the pool is ready, at once below half', async () => {
    const pool = new WarmPool(
      new QuickJsBackend(limits),
      { size: 4, max_total: 8, acquire_timeout_ms: 2_000 },
      log,
    );
    pool.start();
    try {
      await eventually(() => pool.stats().ready === 4, 'the pool fills up');
      // The replacement's synchronous start would hold up the program just handed out.
      const first = await pool.acquire();
      const second = await pool.acquire();
      assert.deepEqual([pool.stats().ready, pool.stats().preparing], [2, 0]);
      // Below half the pool: a replacement starts at once.
      const third = await pool.acquire();
      assert.equal(pool.stats().ready + pool.stats().preparing, 4);
      for (const s of [first, second, third]) pool.release(s);
      await eventually(
        () => pool.stats().destroyed === 3 && pool.stats().ready === 4,
        'released ones are replaced',
      );
    } finally {
      await pool.stop();
    }
  });

  it('under exhaustion an acquire waits up to its deadline, then answers 503', async () => {
    const pool = new WarmPool(
      new QuickJsBackend(limits),
      // Long enough for the replacement's interpreter thread to start on a loaded machine.
      { size: 1, max_total: 1, acquire_timeout_ms: 2000 },
      log,
    );
    pool.start();
    try {
      // A cold pool first starts its interpreter thread.
      await eventually(() => pool.stats().ready === 1, 'the pool fills up');
      const held = await pool.acquire();
      await assert.rejects(pool.acquire(), (err: AppError) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.status, 503);
        assert.match(err.message, /no quickjs sandbox became free within 2000 ms/);
        return true;
      });
      // A waiter gets the replacement as soon as the held one is released.
      const waiting = pool.acquire();
      pool.release(held);
      const next = await waiting;
      assert.notEqual(next.id, held.id);
      pool.release(next);
    } finally {
      await pool.stop();
    }
  });
});

for (const store of stores) {
  describe(`sandbox pools over HTTP (${store})`, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer(store, {
        sandbox: {
          // Past any sandbox's start on a loaded machine: the long run below ends by itself, not by this.
          limits: { timeout_ms: 30_000, memory_bytes: 64 * MiB },
          pools: {
            bwrap: { size: 1, max_total: 1, acquire_timeout_ms: 300 },
            quickjs: { size: 1 },
          },
          breaker: { failure_threshold: 2, reset_ms: 60_000 },
        },
      });
    });
    after(() => server.close());

    it('GET /v1/pools/:type/stats reports the pool, after a run too', async () => {
      const sandboxes = server.app.services.sandboxes;
      const r = await sandboxes.run('run_javascript', 'quickjs', { code: '1 + 1' });
      assert.equal(r.value, 2);
      // The used sandbox is destroyed and its replacement counted once it is ready, both after the run.
      await eventually(() => {
        const stats = sandboxes.stats('quickjs');
        return stats.destroyed >= 1 && stats.created >= 2;
      }, 'the used sandbox is destroyed and replaced');
      const res = await server.request('GET', '/v1/pools/quickjs/stats');
      assert.equal(res.status, 200);
      assert.equal(res.body.type, 'quickjs');
      assert.ok(res.body.created >= 2);
      assert.ok(res.body.destroyed >= 1);
      for (const key of ['ready', 'busy', 'preparing', 'waiting', 'failed'])
        assert.equal(typeof res.body[key], 'number');
      assert.equal(typeof res.body.acquire_wait_ms.p50, 'number');
      assert.equal(typeof res.body.acquire_wait_ms.p99, 'number');
      // Without Redis this process is the whole fleet (test/fleet/fleet.test.ts sums four).
      assert.equal(res.body.fleet.source, 'local');
      assert.equal(res.body.fleet.processes, 1);
      assert.ok(res.body.fleet.created >= res.body.created);
    });

    it('answers 404 for an unknown pool and 401 without credentials', async () => {
      const unknown = await server.request('GET', '/v1/pools/docker/stats');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');
      const anonymous = await server.request('GET', '/v1/pools/bwrap/stats', { key: null });
      assert.equal(anonymous.status, 401);
    });

    it('/health shows the limit mode, the isolation layers and the pools', async () => {
      const res = await server.request('GET', '/health');
      const sandbox = res.body.components.sandbox;
      assert.equal(sandbox.status, 'ok');
      assert.match(sandbox.detail.limits, /^(cgroup-v2|cgroup-v1|rlimits)$/);
      assert.equal(sandbox.detail.backends.bwrap.isolation.no_new_privs, true);
      assert.equal(sandbox.detail.backends.quickjs.status, 'ok');
    });

    it('an exhausted pool refuses with a clear error, and the breaker then disables the tool', async () => {
      const sandboxes = server.app.services.sandboxes;
      // Busy for longer than the three refusals below take on a loaded machine (two waits of 300 ms).
      const long = sandboxes.run('bash_execute', 'bwrap', { code: 'sleep 5; echo slow' });
      await eventually(() => sandboxes.stats('bwrap').busy === 1, 'the only sandbox is busy');
      for (let i = 0; i < 2; i++) {
        await assert.rejects(sandboxes.run('bash_execute', 'bwrap', { code: 'true' }), (err: Error) => {
          assert.ok(err instanceof SandboxRefusal);
          assert.match(
            err.message,
            /bash_execute could not get a sandbox: no bwrap sandbox became free within 300 ms/,
          );
          return true;
        });
      }
      await assert.rejects(sandboxes.run('bash_execute', 'bwrap', { code: 'true' }), (err: Error) => {
        assert.ok(err instanceof SandboxRefusal);
        assert.match(err.message, /bash_execute is temporarily disabled .* try again in \d+ s/);
        return true;
      });
      const health = await server.request('GET', '/health');
      assert.equal(health.body.components.sandbox.status, 'degraded');
      assert.equal(health.body.components.sandbox.detail.breakers.bash_execute, 'open');
      const metrics = await server.request('GET', '/metrics');
      assert.match(metrics.text, /agentry_tool_breaker_state\{tool="bash_execute"\} 2/);
      assert.match(metrics.text, /agentry_sandbox_pool_ready\{type="quickjs"\} \d/);
      assert.match(metrics.text, /agentry_sandbox_acquire_wait_seconds_count\{type="bwrap"\} \d/);
      assert.equal((await long).stdout, 'slow\n');
      // Another tool's breaker is its own.
      assert.equal(
        (await sandboxes.run('run_javascript', 'quickjs', { code: '"still on"' })).value,
        'still on',
      );
    });
  });
}

describe('sandbox service without bubblewrap', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('pglite', {
      sandbox: { bwrap_path: '/nonexistent/bwrap', pools: { quickjs: { size: 0 } } },
    });
  });
  after(() => server.close());

  it('fails closed: a clear error naming what to install, and nothing runs on the host', async () => {
    const marker = `/tmp/agentry-host-marker-${randomBytes(6).toString('hex')}`;
    await assert.rejects(
      server.app.services.sandboxes.run('bash_execute', 'bwrap', { code: `touch ${marker}` }),
      (err: Error) => {
        assert.ok(err instanceof SandboxRefusal);
        assert.match(
          err.message,
          /bash_execute is not available: bubblewrap \(bwrap\) is not installed: .*apt-get install -y bubblewrap/,
        );
        return true;
      },
    );
    assert.equal(existsSync(marker), false);
    const health = await server.request('GET', '/health');
    assert.equal(health.status, 200);
    const sandbox = health.body.components.sandbox;
    assert.equal(sandbox.status, 'degraded');
    assert.match(sandbox.detail.backends.bwrap.reason, /apt-get install -y bubblewrap/);
    assert.match(sandbox.detail.backends.quickjs.reason, /turned off/);
    const stats = await server.request('GET', '/v1/pools/bwrap/stats');
    assert.equal(stats.status, 503);
    assert.match(stats.body.error.message, /not installed/);
  });
});
