import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server.ts';

/** One GET as bytes on the wire: node:http, unlike fetch, leaves a compressed body as it came. */
function raw(s: TestServer, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }>(
    (resolve, reject) => {
      const req = request(
        `${s.url}${path}`,
        { headers: { authorization: `Bearer ${s.adminKey}`, ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

describe('JSON answers compressed on the wire', () => {
  let s: TestServer;
  let off: TestServer;
  before(async () => {
    [s, off] = await Promise.all([
      startServer('pglite'),
      startServer('pglite', { server: { compress: false } }),
    ]);
  });
  after(async () => {
    await Promise.all([s?.close(), off?.close()]);
  });

  it('sends /openapi.json in brotli or gzip as the client accepts, the same JSON once decoded', async () => {
    const plain = await raw(s, '/openapi.json', {});
    assert.equal(plain.headers['content-encoding'], undefined);
    const doc = JSON.parse(plain.bytes.toString('utf8'));
    const br = await raw(s, '/openapi.json', { 'accept-encoding': 'br, gzip' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(String(br.headers.vary), /accept-encoding/i);
    assert.deepEqual(JSON.parse(brotliDecompressSync(br.bytes).toString('utf8')), doc);
    const gz = await raw(s, '/openapi.json', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(gz.bytes).toString('utf8')), doc);
    // A tenth of the bytes or less: JSON with repeated keys compresses well.
    assert.ok(br.bytes.length * 10 < plain.bytes.length, `${br.bytes.length} of ${plain.bytes.length} bytes`);
  });

  it('leaves small answers, event streams and a server with compression off alone', async () => {
    const small = await raw(s, '/health/live', { 'accept-encoding': 'br, gzip' });
    assert.equal(small.status, 200);
    assert.equal(small.headers['content-encoding'], undefined);
    // A finished run's stream: every event, then the end; large enough to compress, yet it is not.
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'talker', system_prompt: 'x'.repeat(3000) },
    });
    assert.equal(agent.status, 201, agent.text);
    const chat = await s.request('POST', `/v1/agents/${(agent.body as { id: string }).id}/chat`, {
      body: { message: 'y'.repeat(3000), stream: false },
    });
    assert.equal(chat.status, 200, chat.text);
    const stream = await raw(s, `/v1/runs/${(chat.body as { run_id: string }).run_id}/stream`, {
      'accept-encoding': 'br, gzip',
    });
    assert.match(String(stream.headers['content-type']), /text\/event-stream/);
    assert.equal(stream.headers['content-encoding'], undefined);
    assert.match(stream.bytes.toString('utf8'), /^(id|event|data):/m);
    const none = await raw(off, '/openapi.json', { 'accept-encoding': 'br, gzip' });
    assert.equal(none.headers['content-encoding'], undefined);
    assert.ok(JSON.parse(none.bytes.toString('utf8')).openapi);
  });
});
