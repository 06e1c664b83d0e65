/**
 * How an event stream's writer (src/http/sse.ts) hands its bytes to the socket: frames written in
 * one turn leave together, and a stream's last frames and its end leave in one write, in order, on
 * every Node this runs on (Node 24 sends a corked response's end ahead of its corked chunks unless
 * they are flushed first). Writes are counted on the server's socket as they are handed to the kernel.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SseWriter } from '../../src/http/sse.ts';

/** Counts the writes `socket` hands to the kernel (one per `_write` or `_writev`). */
function countWrites(socket: Socket): { count: number } {
  const counter = { count: 0 };
  type Write = (this: Socket, ...args: unknown[]) => unknown;
  const s = socket as Socket & { _write: Write; _writev: Write };
  for (const name of ['_write', '_writev'] as const) {
    const original = s[name];
    s[name] = function (this: Socket, ...args: unknown[]) {
      counter.count++;
      return original.apply(this, args);
    };
  }
  return counter;
}

describe('event stream writer', () => {
  let server: http.Server;
  let url: string;
  /** What the writer does once the head is out, and the writes it caused. */
  let script: (writer: SseWriter) => void = () => {};
  let writes: Promise<number>;

  before(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      writes = new Promise((resolve) => {
        // After the head is on its way: only the frames and the end are counted.
        setImmediate(() => {
          const counter = countWrites(res.socket as Socket);
          script(new SseWriter(res));
          res.on('finish', () => resolve(counter.count));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the last frames and the end in one write, in order', async () => {
    script = (writer) => {
      writer.write('data: 1\n\n');
      writer.write('data: 2\n\n');
      writer.end('data: [DONE]\n\n');
    };
    const body = await (await fetch(url)).text();
    assert.equal(body, 'data: 1\n\ndata: 2\n\ndata: [DONE]\n\n');
    assert.equal(await writes, 1);
  });

  it('ends a stream whose frames already left with one more write', async () => {
    script = (writer) => {
      writer.write('data: 1\n\n');
      setImmediate(() => writer.end());
    };
    const body = await (await fetch(url)).text();
    assert.equal(body, 'data: 1\n\n');
    assert.equal(await writes, 2);
  });
});
