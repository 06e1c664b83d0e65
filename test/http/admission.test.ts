/**
 * Admission at the edge: past a class's bound (large requests in flight, their bytes, ingests), a
 * request is refused with 503 and Retry-After before its body is read — the answer arrives while
 * the client has sent only its head — and the refusal is a warning in the log, not an error with a
 * stack. /health/live and small requests go on; a slot is given back when its request ends, also
 * when its client goes away mid-body.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type App, createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually } from '../helpers/eventually.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';

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

const big = 200 * 1024;

describe('admission at the edge', () => {
  const out = new Captured();
  let app: App;
  let url: string;
  let key: string;
  let docs: string;
  const open: ClientRequest[] = [];

  /**
   * A POST of a JSON document `length` bytes long, of which only the first `sent` are written: it
   * stays in flight until `finish` sends the rest (or `abort` goes away). `answered` resolves as
   * soon as the server answers, whatever was sent.
   */
  const post = (path: string, length: number, sent: number, requestId: string) => {
    const head = `{"source":"${requestId}.txt","content":"`;
    const body = `${head}${'x'.repeat(length - head.length - 2)}"}`;
    const req = http.request(`${url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'content-length': String(body.length),
        'x-request-id': requestId,
      },
    });
    req.on('error', () => {});
    open.push(req);
    req.flushHeaders();
    if (sent > 0) req.write(body.slice(0, sent));
    // A request this side gives up on (abort, or left open at the end) answers status 0.
    const answered = once(req, 'response').then(
      async ([res]: IncomingMessage[]) => {
        let text = '';
        res!.setEncoding('utf8');
        res!.on('error', () => {});
        for await (const part of res!) text += part;
        return { status: res!.statusCode!, headers: res!.headers, text };
      },
      () => ({ status: 0, headers: {} as IncomingMessage['headers'], text: '' }),
    );
    return { answered, finish: () => req.end(body.slice(sent)), abort: () => req.destroy() };
  };
  const get = async (path: string) =>
    (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } })).status;
  const held = (gate: 'large' | 'ingest', n: number) =>
    eventually(
      async () => (app.http.admission[gate].inFlight === n ? true : undefined),
      30_000,
      `${n} ${gate} in flight`,
    );

  before(async () => {
    app = await createApp(
      testConfig({
        log_level: 'info',
        store: memoryStore(),
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        server: {
          admission: {
            large_body_bytes: 64 * 1024,
            large_concurrency: 2,
            large_bytes_in_flight: 1024 * 1024,
            ingest_concurrency: 3,
          },
        },
      }),
      { log: createLogger('info', out) },
    );
    url = await app.http.listen({ host: '127.0.0.1', port: 0 });
    key = app.adminKey!;
    const kb = await fetch(`${url}/v1/knowledge-bases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'admission' }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    docs = `/v1/knowledge-bases/${kb.id}/documents`;
  });
  after(async () => {
    for (const r of open) r.destroy();
    await app.close();
  });

  it('refuses a large request past the bound before its body is sent, and lets small ones and /health/live by', async () => {
    const first = post(docs, big, 1024, 'held-1');
    const second = post(docs, big, 1024, 'held-2');
    await held('large', 2);
    // Only the head of this one is ever sent: the answer cannot wait for its body.
    const refused = await post(docs, big, 0, 'refused-1').answered;
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal(refused.headers.connection, 'close');
    assert.match(JSON.parse(refused.text).error.message, /busy \(large requests in flight\)/);
    assert.equal(await get('/health/live'), 200);
    assert.equal(await get('/v1/agents'), 200, 'small requests are not large ones');

    // One ends as usual, the other's client goes away mid-body: both slots come back.
    first.finish();
    assert.equal((await first.answered).status, 201);
    second.abort();
    await held('large', 0);
    const again = [post(docs, big, 0, 'after-1'), post(docs, big, 0, 'after-2')];
    await held('large', 2);
    for (const r of again) r.finish();
    for (const r of again) assert.equal((await r.answered).status, 201);
    await held('large', 0);
  });

  it('bounds the bytes of large requests in flight', async () => {
    // The previous test's app may already be closed: this one starts its own.
    await app.close().catch(() => {});
    app = await createApp(
      testConfig({
        log_level: 'info',
        store: memoryStore(),
        ops_team: { seed: false },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        server: {
          admission: {
            large_body_bytes: 64 * 1024,
            large_concurrency: 10,
            large_bytes_in_flight: 300 * 1024,
            ingest_concurrency: 1,
          },
        },
      }),
      { log: createLogger('info', out) },
    );
    url = await app.http.listen({ host: '127.0.0.1', port: 0 });
    key = app.adminKey!;
    const first = post('/v1/agents', big, 1024, 'bytes-1');
    await held('large', 1);
    const refused = await post('/v1/agents', big, 0, 'bytes-2').answered;
    assert.equal(refused.status, 503, refused.text);
    assert.match(JSON.parse(refused.text).error.message, /busy \(request bytes in flight\)/);
    first.abort();
    await held('large', 0);

    // The ingest class: one at a time here, whatever its size.
    const kb = await fetch(`${url}/v1/knowledge-bases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'one-at-a-time' }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const path = `/v1/knowledge-bases/${kb.id}/documents`;
    const ingesting = post(path, 2000, 100, 'ingest-1');
    await held('ingest', 1);
    const second = await post(path, 2000, 0, 'ingest-2').answered;
    assert.equal(second.status, 503, second.text);
    assert.match(JSON.parse(second.text).error.message, /busy \(ingests in flight\)/);
    ingesting.finish();
    assert.equal((await ingesting.answered).status, 201);
  });

  it('refuses on the vendor doors too, and logs those refusals as warnings without a stack', async () => {
    // This app bounds large requests' bytes in flight at 300 KiB: one held 200 KiB request leaves no room.
    const holder = post('/v1/agents', big, 1024, 'door-holder');
    await held('large', 1);
    const doors = ['/v1/chat/completions', '/v1/embeddings', '/v1/responses', '/v1/messages'];
    for (const [i, door] of doors.entries()) {
      const refused = await post(door, big, 0, `door-refused-${i}`).answered;
      assert.equal(refused.status, 503, `${door}: ${refused.text}`);
      assert.ok(Number(refused.headers['retry-after']) > 0, door);
    }
    holder.abort();
    await held('large', 0);
    for (const [i, door] of doors.entries()) {
      const lines = out.lines().filter((l) => l.request_id === `door-refused-${i}`);
      assert.ok(lines.length > 0, `${door}: the refusal is logged`);
      for (const l of lines) {
        assert.equal(l.level, 40, `${door}: ${JSON.stringify(l)}`);
        assert.equal(l.err, undefined, `${door}: ${JSON.stringify(l)}`);
      }
    }
  });

  it('logs a refusal as a warning without a stack, not as an error', async () => {
    const lines = out.lines().filter((l) => l.request_id === 'refused-1');
    assert.ok(lines.length > 0, 'the refusal is logged');
    for (const l of lines) {
      assert.equal(l.level, 40, JSON.stringify(l));
      assert.equal(l.err, undefined, JSON.stringify(l));
    }
  });
});
