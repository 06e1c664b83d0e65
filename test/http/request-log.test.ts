import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually } from '../helpers/eventually.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';

/** The server's log, line by line, as it would reach stdout. */
class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  lines(): Array<Record<string, unknown>> {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }
}

describe('request log', () => {
  const out = new Captured();
  const internalSecret = 'internal-secret-0123456789abcdef-xyz';
  let app: App;
  let url: string;
  let adminKey: string;

  const call = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, ...headers } });

  before(async () => {
    app = await createApp(
      testConfig({
        log_level: 'info',
        store: memoryStore(),
        ops_team: { seed: false },
        auth: { internal_secret: internalSecret },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
      }),
      { log: createLogger('info', out) },
    );
    url = await app.http.listen({ host: '127.0.0.1', port: 0 });
    adminKey = app.adminKey!;
  });
  after(() => app.close());

  it('writes one JSON line per request with method, route, status, duration, ids, tenant and key', async () => {
    const res = await call('/v1/agents?limit=5', { 'x-request-id': 'log-test-1' });
    assert.equal(res.status, 200);
    await res.text();
    const line = await lineFor('log-test-1');
    assert.equal(line.level, 30, 'info');
    assert.equal(line.msg, 'request');
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/v1/agents');
    assert.equal(line.path, '/v1/agents');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
    assert.match(String(line.trace_id), /^[0-9a-f]{32}$/);
    assert.equal(line.tenant, 'default');
    assert.match(String(line.key_id), /.+/);
    assert.equal(out.lines().filter((l) => l.request_id === 'log-test-1').length, 1, 'one line');
  });

  it('never writes a credential: bearer key, X-Api-Key, internal secret, callback secret', async () => {
    const secretRes = await call('/v1/tasks/callback-secret', { 'x-request-id': 'log-test-2' });
    const { secret: callbackSecret } = (await secretRes.json()) as { secret: string };
    assert.ok(callbackSecret.length > 10);
    await (await call('/v1/agents', { 'x-api-key': adminKey, 'x-request-id': 'log-test-3' })).text();
    await (
      await call('/v1/agents', {
        authorization: '',
        'x-internal-service': 'true',
        'x-internal-service-secret': internalSecret,
        'x-request-id': 'log-test-4',
      })
    ).text();
    // A refused credential and a query string with a key in it.
    await (await call(`/v1/agents?api_key=${adminKey}`, { 'x-request-id': 'log-test-5' })).text();
    await (
      await call('/v1/agents', { authorization: `Bearer ${adminKey}x`, 'x-request-id': 'log-test-6' })
    ).text();
    await lineFor('log-test-6');
    for (const id of ['log-test-2', 'log-test-3', 'log-test-4', 'log-test-5']) await lineFor(id);
    for (const secret of [adminKey, internalSecret, callbackSecret]) {
      assert.ok(!out.text.includes(secret), `the log holds a secret:\n${out.text}`);
    }
  });

  /** The line is written in onResponse, which may run just after the client has the answer. */
  const lineFor = (requestId: string) =>
    eventually(
      async () => out.lines().find((l) => l.request_id === requestId && l.msg === 'request'),
      20_000,
      `the request line of ${requestId}`,
    );
});
