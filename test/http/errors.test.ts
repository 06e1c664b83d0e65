import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { freshDatabase, startServer, stores, type TestResponse, type TestServer } from '../helpers/server.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error format every failure answers in, with the request id also in the header. */
function assertError(res: TestResponse, status: number, code: string, message?: RegExp) {
  assert.equal(res.status, status, res.text.slice(0, 500));
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(res.body).sort(), ['error', 'request_id']);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  if (message) assert.match(res.body.error.message, message);
  assert.equal(res.body.request_id, res.headers.get('x-request-id'));
  assert.ok(res.body.request_id.length > 0);
}

/** A raw request, for what fetch refuses to send (a malformed URL). */
function rawRequest(url: string, path: string): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers, text, body: JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

for (const store of stores) {
  describe(`error format on ${store}`, () => {
    let s: TestServer;
    const agentCount = async () => (await s.request('GET', '/v1/agents?limit=1')).body.total as number;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('answers unknown routes with a JSON 404, with and without credentials', async () => {
      for (const key of [undefined, null]) {
        for (const method of ['GET', 'POST', 'DELETE']) {
          const res = await s.request(method, '/v1/no-such-thing?x=1', { key });
          assertError(res, 404, 'not_found', new RegExp(`^no route ${method} /v1/no-such-thing$`));
        }
      }
      assertError(await s.request('PUT', '/v1/agents'), 404, 'not_found');
    });

    it('answers malformed JSON with 400 and creates nothing', async () => {
      const before = await agentCount();
      assertError(
        await s.request('POST', '/v1/agents', { body: '{"name": "half' }),
        400,
        'bad_request',
        /^malformed JSON body: /,
      );
      // An empty JSON body reads as {} (bodiless POSTs from clients with default JSON headers); a
      // route that needs fields names the missing one.
      assertError(
        await s.request('POST', '/v1/agents', { body: '', headers: { 'content-type': 'application/json' } }),
        400,
        'validation_error',
        /name/,
      );
      assertError(
        await s.request('POST', '/v1/agents', { body: '{"name":"p","__proto__":{"admin":true}}' }),
        400,
        'bad_request',
        /prototype/,
      );
      assert.equal(await agentCount(), before);
    });

    it('answers unsupported content types with 415', async () => {
      const before = await agentCount();
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        const res = await s.request('POST', '/v1/agents', {
          body: '{"name":"typed"}',
          headers: { 'content-type': type },
        });
        assertError(res, 415, 'unsupported_media_type', /send application\/json/);
        assert.ok(res.body.error.message.includes(JSON.stringify(type)), res.body.error.message);
      }
      assert.equal(await agentCount(), before);
    });

    it('accepts a body up to 1 MiB by default and answers 413 above it', async () => {
      const envelope = JSON.stringify({ name: 'big', metadata: { blob: '' } }).length;
      const fits = JSON.stringify({ name: 'big', metadata: { blob: 'x'.repeat(1024 * 1024 - envelope) } });
      assert.equal(fits.length, 1024 * 1024);
      const created = await s.request('POST', '/v1/agents', { body: fits });
      assert.equal(created.status, 201, created.text.slice(0, 300));

      const before = await agentCount();
      const tooBig = JSON.stringify({ name: 'bigger', metadata: { blob: 'x'.repeat(1024 * 1024) } });
      assertError(
        await s.request('POST', '/v1/agents', { body: tooBig }),
        413,
        'payload_too_large',
        /limit of 1048576 bytes/,
      );
      assert.equal(await agentCount(), before);
    });

    it('answers oversized headers with 431 in the error format', async () => {
      const res = await s.request('GET', '/v1/agents', { headers: { 'x-filler': 'y'.repeat(64 * 1024) } });
      assertError(res, 431, 'headers_too_large');
      assert.match(res.body.request_id, uuid);
    });

    it('answers a malformed URL with 400 in the error format', async () => {
      const res = await rawRequest(s.url, '/v1/agents/%E0%A4%A');
      assertError(res, 400, 'bad_request', /malformed URL/);
    });
  });
}

describe('body limit is configurable', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { server: { body_limit: 1000 } });
  });
  after(() => s.close());

  it('answers 413 above the configured limit, naming it', async () => {
    const body = JSON.stringify({ name: 'limited', description: 'd'.repeat(1000) });
    assertError(
      await s.request('POST', '/v1/agents', { body }),
      413,
      'payload_too_large',
      /limit of 1000 bytes/,
    );
    const small = await s.request('POST', '/v1/agents', { body: { name: 'limited', description: 'short' } });
    assert.equal(small.status, 201);
  });
});

for (const store of stores) {
  describe(`unexpected errors on ${store}`, () => {
    const lines: Array<Record<string, unknown>> = [];
    let url = '';
    let close = async () => {};
    before(async () => {
      const stream = new Writable({
        write(chunk, _enc, done) {
          for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
          done();
        },
      });
      let drop = async () => {};
      let storeConfig = {};
      if (store === 'postgres') {
        const db = await freshDatabase();
        drop = db.drop;
        storeConfig = { database_url: db.url, pool_max: 3 };
      } else {
        storeConfig = memoryStore();
      }
      const app = await createApp(testConfig({ store: storeConfig }), { log: createLogger('info', stream) });
      // A route that fails the way a bug would: only added for this test.
      app.http.get('/test/boom', { config: { auth: 'public' } }, async () => {
        throw new Error('connection string postgres://u:hunter2@db leaked');
      });
      url = await app.http.listen({ host: '127.0.0.1', port: 0 });
      close = async () => {
        await app.close();
        await drop();
      };
    });
    after(() => close());

    it('answers 500 without internals, and logs the stack under the request id', async () => {
      const res = await fetch(`${url}/test/boom`, { headers: { 'x-request-id': 'boom-1' } });
      const body = await res.json();
      assert.equal(res.status, 500);
      assert.deepEqual(body, {
        error: { code: 'internal', message: 'internal error; see the server log for this request id' },
        request_id: 'boom-1',
      });
      const logged = lines.find((l) => l.request_id === 'boom-1' && l.msg === 'unhandled error');
      assert.ok(logged, JSON.stringify(lines));
      assert.match(String((logged.err as { stack: string }).stack), /hunter2@db leaked/);
    });
  });
}
