/**
 * A stream whose socket takes every byte at once (loopback buffers with room, a client that has not
 * read yet) still lets the event loop turn while it is written: the mock model never waits, and the
 * socket's 'drain' comes on the next tick, so without a turn per socket-buffer's worth the whole
 * answer was written in one go and a burst of them kept /health/live out for seconds. Counted in
 * turns of the loop, not in time.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('a stream written faster than its client reads', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { tasks: { workers: 0 } });
  });
  after(() => s.close());

  it('lets the event loop turn while it is written', async () => {
    // Turns of the loop between the stream's head and its last byte.
    let turns = 0;
    s.app.http.server.once('request', (_req: IncomingMessage, res: ServerResponse) => {
      const writeHead = res.writeHead.bind(res);
      res.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
        let done = false;
        res.once('finish', () => {
          done = true;
        });
        const tick = () => {
          turns += 1;
          if (!done) setImmediate(tick);
        };
        setImmediate(tick);
        return writeHead(...args);
      }) as ServerResponse['writeHead'];
    });
    // About 1 MB of frames (three words each): what loopback socket buffers take without a read.
    const prompt = 'lorem ipsum dolor sit amet '.repeat(4000);
    const response = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'mock/default',
        stream: true,
        max_tokens: 1_000_000,
        messages: [{ role: 'user', content: prompt }],
      }),
    });
    const text = await response.text();
    assert.ok(text.length > 1_000_000, `the answer (${text.length} bytes)`);
    assert.match(text, /data: \[DONE\]/);
    // One turn per 16 KiB or so written; without them, a handful for the whole megabyte.
    assert.ok(turns >= 20, `the loop turned ${turns} times`);
  });
});
