import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { parseTraceparent } from '../../src/http/plugins/request-context.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { freshDatabase, stores } from '../helpers/server.ts';

type LogLine = Record<string, unknown>;
const hex32 = /^[0-9a-f]{32}$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const validTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
const validParent = '00f067aa0ba902b7';

describe('traceparent parsing (W3C Trace Context)', () => {
  it('accepts version 00 exactly, and a later version with extra fields', () => {
    assert.deepEqual(parseTraceparent(`00-${validTrace}-${validParent}-01`), {
      traceId: validTrace,
      parentSpanId: validParent,
      flags: '01',
    });
    assert.equal(parseTraceparent(`cc-${validTrace}-${validParent}-00-what-comes-next`)?.traceId, validTrace);
  });

  for (const [why, header] of [
    ['uppercase hex', `00-${validTrace.toUpperCase()}-${validParent}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${validParent}-01`],
    ['all-zero parent id', `00-${validTrace}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${validTrace}-${validParent}-01`],
    ['version 00 with extra fields', `00-${validTrace}-${validParent}-01-extra`],
    ['short trace id', `00-${validTrace.slice(1)}-${validParent}-01`],
    ['garbage', 'hello'],
    ['empty', ''],
  ] as const) {
    it(`refuses ${why}`, () => assert.equal(parseTraceparent(header), undefined));
  }
  it('refuses several headers', () => {
    assert.equal(parseTraceparent([`00-${validTrace}-${validParent}-01`, 'x']), undefined);
  });
});

for (const store of stores) {
  describe(`request ids and trace ids on ${store}`, () => {
    const lines: LogLine[] = [];
    let app: App;
    let url = '';
    let key = '';
    let drop = async () => {};
    before(async () => {
      const stream = new Writable({
        write(chunk, _enc, done) {
          for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
          done();
        },
      });
      let storeConfig = {};
      if (store === 'postgres') {
        const db = await freshDatabase();
        drop = db.drop;
        storeConfig = { database_url: db.url, pool_max: 3 };
      } else {
        storeConfig = memoryStore();
      }
      // Debug level: one line per request, plus whatever handlers and hooks log.
      app = await createApp(testConfig({ store: storeConfig }), { log: createLogger('debug', stream) });
      app.http.get('/test/chatty', { config: { auth: 'public' } }, async (request) => {
        request.log.info('first line from a handler');
        request.log.warn({ step: 2 }, 'second line from a handler');
        request.log.child({ part: 'nested' }).info('a line from a child logger');
        return { ok: true };
      });
      url = await app.http.listen({ host: '127.0.0.1', port: 0 });
      key = app.adminKey!;
    });
    after(async () => {
      await app.close();
      await drop();
    });

    const call = (path: string, headers: Record<string, string> = {}, body?: unknown) =>
      fetch(`${url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    it('accepts a well-formed X-Request-Id and echoes it', async () => {
      for (const id of ['abc-123', 'req_1.2:3', 'A'.repeat(128), '01890a5d-ac96-774b-bcce-b302099a8057']) {
        const res = await call('/v1/agents', { 'x-request-id': id });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-request-id'), id);
      }
    });

    it('replaces a malformed X-Request-Id with a generated one', async () => {
      for (const id of ['has space', 'A'.repeat(129), 'semi;colon', 'quote"d', 'back\\slash', 'é']) {
        const res = await call('/v1/agents', { 'x-request-id': id });
        const got = res.headers.get('x-request-id') ?? '';
        assert.notEqual(got, id);
        assert.match(got, uuid);
      }
      const none = await call('/v1/agents');
      assert.match(none.headers.get('x-request-id') ?? '', uuid);
      const a = await call('/v1/agents');
      assert.notEqual(a.headers.get('x-request-id'), none.headers.get('x-request-id'));
    });

    it('puts the request id and trace id on every log line of a request', async () => {
      const from = lines.length;
      const traced = await call('/test/chatty', {
        'x-request-id': 'chatty-1',
        traceparent: `00-${validTrace}-${validParent}-01`,
      });
      assert.equal(traced.status, 200);
      const untraced = await call('/test/chatty', { 'x-request-id': 'chatty-2' });
      assert.equal(untraced.status, 200);
      const unauth = await fetch(`${url}/v1/agents`, { headers: { 'x-request-id': 'chatty-3' } });
      assert.equal(unauth.status, 401);

      const during = lines.slice(from);
      assert.ok(during.length >= 9, `expected handler and request lines, got ${JSON.stringify(during)}`);
      for (const line of during) {
        assert.ok(typeof line.request_id === 'string', `no request_id: ${JSON.stringify(line)}`);
        assert.match(String(line.trace_id), hex32, `no trace_id: ${JSON.stringify(line)}`);
      }
      const first = during.filter((l) => l.request_id === 'chatty-1');
      assert.deepEqual(
        first.map((l) => l.msg),
        ['first line from a handler', 'second line from a handler', 'a line from a child logger', 'request'],
      );
      assert.ok(first.every((l) => l.trace_id === validTrace));
      const second = during.filter((l) => l.request_id === 'chatty-2');
      assert.equal(second.length, 4);
      assert.equal(new Set(second.map((l) => l.trace_id)).size, 1, 'one trace id for the whole request');
      assert.notEqual(second[0]!.trace_id, validTrace);
      assert.ok(during.some((l) => l.request_id === 'chatty-3'));
    });

    it('writes the request id and the trace id into the journal', async () => {
      const traceparent = `00-${validTrace}-${validParent}-01`;
      const res = await call(
        '/v1/agents',
        { 'x-request-id': 'journal-1', traceparent },
        { name: 'journaled' },
      );
      assert.equal(res.status, 201);
      const agent = (await res.json()) as { id: string };
      const untracedRes = await call('/v1/agents', {}, { name: 'journaled-2' });
      const untraced = (await untracedRes.json()) as { id: string };
      const bad = await call(
        '/v1/agents',
        { 'x-request-id': 'bad id!', traceparent: `00-${'0'.repeat(32)}-${validParent}-01` },
        { name: 'journaled-3' },
      );
      const third = (await bad.json()) as { id: string };

      const rows = await app.db.query<{ target: string; request_id: string; trace_id: string }>(
        'select target, request_id, trace_id from journal where target = any($1::text[])',
        [[agent.id, untraced.id, third.id]],
      );
      const byTarget = new Map(rows.map((r) => [r.target, r]));
      assert.deepEqual(byTarget.get(agent.id), {
        target: agent.id,
        request_id: 'journal-1',
        trace_id: validTrace,
      });

      const generated = byTarget.get(untraced.id)!;
      assert.equal(generated.request_id, untracedRes.headers.get('x-request-id'));
      assert.match(generated.trace_id, hex32);

      const replaced = byTarget.get(third.id)!;
      assert.equal(replaced.request_id, bad.headers.get('x-request-id'));
      assert.match(replaced.request_id, uuid);
      assert.match(replaced.trace_id, hex32);
      assert.notEqual(replaced.trace_id, '0'.repeat(32));
    });
  });
}
