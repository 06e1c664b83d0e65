import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { UpstreamError } from '../../src/models/provider.ts';
import { JsonEndpoint } from '../../src/models/providers/json-endpoint.ts';
import { eventually, settled } from '../helpers/eventually.ts';

const timeouts = { connect_ms: 1_000, first_byte_ms: 5_000, total_ms: 30_000 };

/**
 * The streamed-answer reader against a real SSE server on loopback: a reader that is not read from
 * must stop reading the socket (the server then sees its writes back up), and lose nothing.
 */
describe('json endpoint', () => {
  const EVENTS = 20_000;
  const payload = 'x'.repeat(1_000);
  let server: Server;
  let url = '';
  /** Events of the last answer written so far. */
  let written = 0;
  let finished: Promise<unknown> = Promise.resolve();
  /** Requests to /hang the server has received (and never answers). */
  let hung = 0;

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      if (req.url?.endsWith('/not-json')) return void res.writeHead(200).end('<html>oops</html>');
      if (req.url?.endsWith('/hang')) {
        hung += 1;
        return;
      }
      if (req.url?.endsWith('/echo')) {
        let body = '';
        req.on('data', (d) => {
          body += d;
        });
        req.on('end', () => res.writeHead(200).end(JSON.stringify({ got: JSON.parse(body) })));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const write = () => {
        while (i < EVENTS) {
          const ok = res.write(`data: {"n":${i},"p":"${payload}"}\n\n`);
          i += 1;
          written = i;
          if (!ok) {
            res.once('drain', write);
            return;
          }
        }
        res.end('data: [DONE]\n\n');
      };
      finished = once(res, 'finish');
      write();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('a reader left unread pauses the socket, then gives every event in order', async () => {
    const endpoint = new JsonEndpoint(url, undefined, timeouts);
    const reader = await endpoint.events('/chat/completions', {}, new AbortController().signal);
    // Nobody reads until the server's writes stop: they backed up (20 MB is more than the kernel's
    // socket buffers hold), or the reader took it all into memory. No event says a write is stuck
    // for good; 100 ms without one is many times what a reading client takes to make room.
    await settled(() => written, 100, 20_000, 'the server to stop writing');
    assert.ok(written < EVENTS, 'the server wrote the whole answer: the reader kept reading');
    const seen: number[] = [];
    for (let batch = await reader.next(); batch; batch = await reader.next()) {
      for (const data of batch) if (data !== '[DONE]') seen.push((JSON.parse(data) as { n: number }).n);
    }
    reader.close();
    await finished;
    assert.equal(seen.length, EVENTS);
    assert.ok(
      seen.every((n, i) => n === i),
      'events out of order',
    );
  });

  it('an abort mid-stream rejects the waiting read and closes the connection', async () => {
    const endpoint = new JsonEndpoint(url, undefined, timeouts);
    const ac = new AbortController();
    const reader = await endpoint.events('/chat/completions', {}, ac.signal);
    const first = await reader.next();
    assert.ok(first && first.length > 0);
    ac.abort(new Error('client disconnected'));
    await assert.rejects(async () => {
      for (let batch = await reader.next(); batch; batch = await reader.next()) {}
    }, /client disconnected/);
    reader.close();
  });

  it('json: answers the parsed body, says so when a 2xx body is not JSON, and stops on abort', async () => {
    const endpoint = new JsonEndpoint(url, undefined, timeouts);
    const signal = new AbortController().signal;
    assert.deepEqual(await endpoint.json('/echo', { a: 'é' }, signal), { got: { a: 'é' } });
    await assert.rejects(endpoint.json('/not-json', {}, signal), (err: UpstreamError) => {
      assert.equal(err.kind, 'network');
      assert.match(err.message, /not JSON/);
      return true;
    });
    const ac = new AbortController();
    const hungBefore = hung;
    const pending = endpoint.json('/hang', {}, ac.signal);
    await eventually(
      async () => (hung > hungBefore ? true : undefined),
      20_000,
      'the request to reach the server',
    );
    ac.abort(new Error('client disconnected'));
    await assert.rejects(pending, /client disconnected/);
  });
});
