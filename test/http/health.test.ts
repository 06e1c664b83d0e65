import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { HealthRegistry } from '../../src/observability/health.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

describe('HealthRegistry', () => {
  it('is ok when every check passes, degraded when a non-essential one fails, down when an essential one does', async () => {
    const registry = new HealthRegistry();
    registry.register('a', { essential: true, run: async () => ({ detail: { n: 1 } }) });
    const removeB = registry.register('b', {
      essential: false,
      run: async () => {
        throw new Error('b is unreachable');
      },
    });
    let report = await registry.report();
    assert.equal(report.status, 'degraded');
    assert.equal(report.components.a?.status, 'ok');
    assert.deepEqual(report.components.a?.detail, { n: 1 });
    assert.equal(report.components.b?.status, 'down');
    assert.equal(report.components.b?.error, 'b is unreachable');

    removeB();
    assert.equal((await registry.report()).status, 'ok');

    registry.register('c', { essential: false, run: async () => ({ status: 'degraded' }) });
    assert.equal((await registry.report()).status, 'degraded');
    registry.register('a', {
      essential: true,
      run: async () => {
        throw new Error('gone');
      },
    });
    report = await registry.report();
    assert.equal(report.status, 'down');
    assert.equal(report.components.a?.status, 'down');
  });

  it('gives a hung check a deadline and reports it down', async () => {
    const registry = new HealthRegistry();
    registry.register('hangs', { essential: true, run: () => new Promise(() => {}) });
    const report = await registry.report(50);
    assert.equal(report.status, 'down');
    assert.equal(report.components.hangs?.error, 'no answer within 50 ms');
    assert.ok(report.components.hangs!.latency_ms >= 50);
  });

  it('never calls a check hung before its deadline has passed', async () => {
    const registry = new HealthRegistry();
    registry.register('hangs', { essential: true, run: () => new Promise(() => {}) });
    // Node's timers count whole milliseconds of the loop's clock: unchecked, a few in 200 fired early.
    for (let i = 0; i < 200; i++) {
      const latency = (await registry.report(5)).components.hangs!.latency_ms;
      assert.ok(latency >= 5, `reported hung after ${latency} ms`);
    }
  });
});

for (const store of stores) {
  describe(`GET /health on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('is public and reports each component with its latency', async () => {
      const res = await s.request('GET', '/health', { key: null });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.body.status, 'ok');
      assert.equal(typeof res.body.version, 'string');
      for (const name of ['store', 'live_bus']) {
        const c = res.body.components[name];
        assert.ok(c, `component ${name} in ${res.text}`);
        assert.equal(c.status, 'ok');
        assert.equal(typeof c.latency_ms, 'number');
        assert.ok(c.latency_ms >= 0);
      }
      // Without a key: statuses and latencies, no detail of the host (paths, versions, seccomp list).
      for (const [name, c] of Object.entries(res.body.components as Record<string, object>))
        assert.deepEqual(Object.keys(c).sort(), ['latency_ms', 'status'], `${name}: ${JSON.stringify(c)}`);
      assert.doesNotMatch(res.text, /cgroup|bwrap|bubblewrap|seccomp|\/proc|\/sys\//i);
      // Garbage credentials do not matter on a public route, and show no more.
      const garbage = await s.request('GET', '/health', { key: 'not-a-key' });
      assert.equal(garbage.status, 200);
      assert.equal(garbage.body.components.store.detail, undefined);
      // With a key, the detail.
      const keyed = await s.request('GET', '/health');
      assert.equal(keyed.body.components.store.detail.kind, store);
      assert.equal(keyed.body.components.live_bus.detail.kind, store === 'postgres' ? 'pg_notify' : 'local');
    });

    it('is degraded (200) when a non-essential component fails, down (503) when an essential one does', async () => {
      let remove = s.app.services.health.register('test_dependency', {
        essential: false,
        run: async () => {
          throw new Error('upstream refused');
        },
      });
      try {
        const degraded = await s.request('GET', '/health');
        assert.equal(degraded.status, 200);
        assert.equal(degraded.body.status, 'degraded');
        assert.equal(degraded.body.overall, 'amber');
        assert.equal((await s.request('GET', '/health/ready', { key: null })).status, 200);
        assert.equal(degraded.body.components.test_dependency.status, 'down');
        assert.equal(degraded.body.components.test_dependency.error, 'upstream refused');

        remove = s.app.services.health.register('test_dependency', {
          essential: true,
          run: async () => {
            throw new Error('essential thing is gone');
          },
        });
        const down = await s.request('GET', '/health', { key: null });
        assert.equal(down.status, 503);
        assert.equal(down.body.status, 'down');
        assert.equal(down.body.overall, 'red');
        assert.equal(down.body.components.store.status, 'ok');
        const ready = await s.request('GET', '/health/ready', { key: null });
        assert.equal(ready.status, 503);
        assert.deepEqual(Object.keys(ready.body.components).sort(), ['store', 'test_dependency']);
      } finally {
        remove();
      }
      assert.equal((await s.request('GET', '/health', { key: null })).body.status, 'ok');
    });
  });
}

if (stores.includes('postgres')) {
  describe('GET /health when PostgreSQL goes away', () => {
    let s: TestServer;
    let database = '';
    const admin = () => new pg.Client({ connectionString: process.env.DATABASE_URL });
    before(async () => {
      s = await startServer('postgres');
      database = new URL(s.app.services.config.store.database_url!).pathname.slice(1);
    });
    after(() => s.close());

    it('recovers after its connections are terminated', async () => {
      assert.equal((await s.request('GET', '/health', { key: null })).status, 200);
      const c = admin();
      await c.connect();
      const killed = await c.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [database],
      );
      await c.end();
      assert.ok(killed.rowCount! >= 1, 'the server had connections to terminate');
      // The pool notices dead connections as it uses them; a few checks later it is healthy again.
      let status = 0;
      for (let i = 0; i < 20 && status !== 200; i++) {
        status = (await s.request('GET', '/health', { key: null })).status;
      }
      assert.equal(status, 200);
    });

    it('answers 503 with the store down once its database is dropped', async () => {
      const c = admin();
      await c.connect();
      await c.query(`drop database ${database} with (force)`);
      await c.end();
      const res = await s.request('GET', '/health', { key: null });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.status, 'down');
      assert.equal(res.body.components.store.status, 'down');
      // Without a key (none can be checked while the store is down) the reason stays private.
      assert.equal(res.body.components.store.error, undefined);
      assert.equal(typeof res.body.components.store.latency_ms, 'number');
      assert.equal(res.body.components.live_bus.status, 'down');
      assert.equal(res.body.overall, 'red');
      const ready = await s.request('GET', '/health/ready', { key: null });
      assert.equal(ready.status, 503, ready.text);
      assert.equal(ready.body.status, 'down');
      assert.equal(ready.body.components.store.status, 'down');
      assert.equal((await s.request('GET', '/health/live', { key: null })).status, 200);
    });
  });
}
