import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { settled } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { openai as oa } from './helpers/fake-upstream.ts';

/**
 * A streamed answer through POST /v1/chat/completions to a client that stops reading: the gateway
 * must stop reading the upstream (whose writes then back up) rather than buffer the answer, and
 * once the client reads again deliver every chunk, in order, then `[DONE]`.
 */
describe('a streamed answer to a client that falls behind', () => {
  // 40 MB: more than the kernel buffers of both loopback hops hold, so an upstream that could write
  // it all was read by nobody waiting for the client.
  const CHUNKS = 40_000;
  const pad = 'x'.repeat(1_000);
  let upstream: Server;
  let s: TestServer;
  /** Chunks the upstream has written so far. */
  let written = 0;

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (delta: Record<string, unknown>, finish: string | null = null) =>
        `data: ${JSON.stringify(oa.chunk(delta, finish))}\n\n`;
      let i = 0;
      const write = () => {
        while (i < CHUNKS) {
          const ok = res.write(event({ content: `${i} ${pad}|` }));
          i += 1;
          written = i;
          if (!ok) return void res.once('drain', write);
        }
        res.end(`${event({}, 'stop')}data: [DONE]\n\n`);
      };
      write();
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    s = await startServer('pglite', { models: { providers: { fast: { type: 'openai', base_url: url } } } });
  });
  after(async () => {
    await s.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  it('stops reading the upstream while the client does not read, then delivers every chunk in order', async () => {
    // Each wait for the client must take its listeners away again: a long answer waits thousands
    // of times, and listeners left on the response pile up until it ends.
    const warnings: Error[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    const req = request(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
    });
    req.end(
      JSON.stringify({ model: 'fast/m', stream: true, messages: [{ role: 'user', content: 'a long one' }] }),
    );
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    // Nobody reads the answer (no 'data' listener: the response stays paused) until the upstream's
    // writes stop: the buffers on the way are full, or it wrote the whole answer. No event says a
    // write is stuck for good; 100 ms without one is many times what a reading gateway takes.
    await settled(() => written, 100, 20_000, 'the upstream to stop writing');
    assert.ok(written < CHUNKS, 'the upstream wrote the whole answer: nothing held it back');

    res.setEncoding('utf8');
    let text = '';
    for await (const part of res) text += part;
    const events = text.split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    let content = '';
    for (const e of events.slice(0, -1)) {
      const delta = JSON.parse(e.slice('data: '.length)).choices[0]?.delta;
      if (delta?.content) content += delta.content;
    }
    const parts = content.split('|').slice(0, -1);
    assert.equal(parts.length, CHUNKS);
    assert.ok(
      parts.every((p, i) => p === `${i} ${pad}`),
      'chunks lost, altered or out of order',
    );
    process.off('warning', onWarning);
    assert.deepEqual(
      warnings.map((w) => w.message),
      [],
    );
  });
});
