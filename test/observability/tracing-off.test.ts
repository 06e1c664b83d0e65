import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { context, createContextKey } from '@opentelemetry/api';
import pg from 'pg';
import { chosenInstrumentations } from '../../src/observability/tracing.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

describe('OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
  it('enables every instrumentation by default, only the listed ones when a list is given, never a disabled one', () => {
    const all = chosenInstrumentations({});
    assert.deepEqual(['pg', 'ioredis', 'fastify'].map(all), [true, true, true]);
    const only = chosenInstrumentations({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'fastify, pg' });
    assert.deepEqual(['pg', 'ioredis', 'fastify'].map(only), [true, false, true]);
    const less = chosenInstrumentations({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg,ioredis' });
    assert.deepEqual(['pg', 'ioredis', 'fastify'].map(less), [false, false, true]);
  });
});

for (const store of stores) {
  describe(`tracing off (no OTEL_* variable) on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('patches no client, registers no context manager and loads no SDK', async () => {
      assert.equal((await s.request('GET', '/v1/agents')).status, 200);
      const query = pg.Client.prototype.query as { __wrapped?: boolean };
      assert.equal(query.__wrapped, undefined, 'pg is not instrumented');
      // The API's no-op context manager: a value set for a callback is not seen inside it.
      const key = createContextKey('probe');
      assert.equal(
        context.with(context.active().setValue(key, 1), () => context.active().getValue(key)),
        undefined,
      );
      // The SDK's packages are CommonJS: had the server imported them, they would be in this cache.
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      assert.ok(
        loaded.some((m) => m.includes('/node_modules/fastify/')),
        'the cache is the one the app uses',
      );
      for (const sdk of ['sdk-trace-base', 'exporter-trace-otlp-proto', 'resources'])
        assert.ok(!loaded.some((m) => m.includes(`/@opentelemetry/${sdk}/`)), `${sdk} is not loaded`);
    });
  });
}
