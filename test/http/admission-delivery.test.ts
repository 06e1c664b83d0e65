/**
 * A large request's admission slot is held until its answer has left the process or its client is
 * cut off, not merely until the route has written its last byte: an answer of many megabytes to a
 * client that reads nothing keeps its slot (the next large request is refused) while its bytes wait
 * in the server, comes back when the client finally reads, and comes back when a client that never
 * reads is cut off. Without the cut such a client held its slot, and the answer's buffers, for ever.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// 1,200 words of 10 KB, echoed back: a 12 MB answer, several times what loopback socket buffers
// hold (streamed, a few hundred frames).
const prompt = Array.from(
  { length: 1200 },
  (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(10_000)}`,
).join(' ');

/** A server whose gate admits one large request at a time; `stallMs` is how long a non-reader is kept. */
async function server(stallMs: number) {
  const s = await startServer('pglite', {
    models: { default_max_tokens: 10_000_000 },
    server: { stream_stall_ms: stallMs, admission: { large_concurrency: 1 } },
    tasks: { workers: 0 },
  });
  const responses: ServerResponse[] = [];
  s.app.http.server.on('request', (_req: IncomingMessage, res: ServerResponse) => responses.push(res));
  return { s, responses };
}

/**
 * A completion of `prompt` on a raw socket that writes its request and reads nothing until
 * `read()` is called; `received` resolves with all it got once the answer is complete or the
 * server ends the connection.
 */
function nonReader(s: TestServer, stream: boolean) {
  const url = new URL(s.url);
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  socket.pause();
  const body = JSON.stringify({
    model: 'mock/default',
    stream,
    max_tokens: 10_000_000,
    messages: [{ role: 'user', content: prompt }],
  });
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${s.adminKey}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`,
  );
  socket.write(body);
  const chunks: Buffer[] = [];
  socket.on('error', () => {});
  // The connection ends the whole answer; a stream's ends with [DONE] (an event stream keeps its
  // connection alive whatever the client asked).
  const received = new Promise<string>((resolve) => {
    const text = () => Buffer.concat(chunks).toString('latin1');
    let tail = '';
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      tail = (tail + c.toString('latin1')).slice(-64);
      if (stream && /data: \[DONE\]\n\n\r\n0\r\n\r\n$/.test(tail)) resolve(text());
    });
    socket.once('close', () => resolve(text()));
  });
  return { received, read: () => socket.resume() };
}

/** The status of a large request of which only the head is sent: admission answers before the body. */
async function largeRequestStatus(s: TestServer): Promise<number> {
  const req = http.request(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${s.adminKey}`,
      'content-type': 'application/json',
      'content-length': String(1024 * 1024),
    },
  });
  req.on('error', () => {});
  req.flushHeaders();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.resume();
  req.destroy();
  return res.statusCode!;
}

describe("a large request's admission slot lasts until its answer is delivered", () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  const inFlight = (s: TestServer, n: number, what: string) =>
    eventually(async () => (s.app.http.admission.large.inFlight === n ? true : undefined), 30_000, what);

  for (const stream of [true, false]) {
    it(`holds it while a ${stream ? 'streamed' : 'whole'} answer waits for its client, and gives it back once the client reads`, async () => {
      const { s, responses } = await server(600_000);
      servers.push(s);
      const client = nonReader(s, stream);
      // Until the route has written its whole answer or is held back by the client (a stream):
      // the bytes then sit in the server, undelivered.
      await eventually(
        async () =>
          responses[0]?.writableEnded || (responses[0]?.socket?.writableLength ?? 0) > 0 ? true : undefined,
        30_000,
        'the answer written',
      );
      assert.equal(s.app.http.admission.large.inFlight, 1);
      assert.equal(await largeRequestStatus(s), 503, 'the gate is still full');
      client.read();
      const text = await client.received;
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.ok(text.length > 12_000_000, `the whole answer arrived (${text.length} bytes)`);
      if (stream) assert.match(text, /data: \[DONE\]/);
      await inFlight(s, 0, 'the slot given back');
    });
  }

  it('gives it back when a client that never reads a finished answer is cut off', async () => {
    const { s, responses } = await server(200);
    servers.push(s);
    const client = nonReader(s, false);
    await eventually(
      async () => (responses[0]?.writableEnded ? true : undefined),
      30_000,
      'the answer written',
    );
    // The server ends the connection: the client that never read is cut off, its slot freed.
    await inFlight(s, 0, 'the slot given back');
    client.read();
    const text = await client.received;
    assert.ok(text.length < 12_000_000, `the answer was never delivered whole (${text.length} bytes)`);
    const next = await s.request('POST', '/v1/chat/completions', {
      body: { model: 'mock/default', messages: [{ role: 'user', content: prompt.slice(0, 100_000) }] },
    });
    assert.equal(next.status, 200, 'the next large request is admitted');
  });
});
