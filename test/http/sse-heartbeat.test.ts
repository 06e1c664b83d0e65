/**
 * The heartbeats of open event streams (src/http/sse.ts): one timer for the process, each stream in
 * the group of the second it started in, so its first heartbeat comes within 15 s of its start and
 * streams started at different times are not all written to in the same turn of the loop. The
 * timer is node:test's mock, ticked by hand; what each response was sent is read on the server as
 * it is written.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it, mock } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { openSse } from '../../src/http/sse.ts';
import { eventually } from '../helpers/eventually.ts';

describe('event stream heartbeats', () => {
  let app: FastifyInstance;
  let url: string;
  /** What each stream's response was sent, by the `name` it was opened with. */
  const sent = new Map<string, string[]>();
  const closed: Array<Promise<void>> = [];
  const clients: http.ClientRequest[] = [];

  before(async () => {
    app = Fastify();
    // The stream's head names the request's trace, as the app's request context gives it.
    app.decorateRequest('traceId', '');
    app.addHook('onRequest', async (request) => {
      request.traceId = 'a'.repeat(32);
    });
    app.get<{ Querystring: { name: string } }>('/stream', (request, reply) => {
      const chunks: string[] = [];
      sent.set(request.query.name, chunks);
      const res = reply.raw;
      const write = res.write.bind(res) as (chunk: unknown) => boolean;
      res.write = ((chunk: unknown) => {
        chunks.push(String(chunk));
        return write(chunk);
      }) as typeof res.write;
      closed.push(new Promise((resolve) => res.on('close', () => resolve())));
      openSse(request, reply);
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    // After the server's own timers are set: only the heartbeats' interval is the mock's.
    mock.timers.enable({ apis: ['setInterval'] });
  });

  after(async () => {
    for (const c of clients) c.destroy();
    // Every stream closed first: the heartbeat's (mock) interval is cleared with the last one.
    await Promise.all(closed);
    mock.timers.reset();
    await app.close();
  });

  const open = async (name: string) => {
    clients.push(http.get(`${url}/stream?name=${name}`, (res) => res.resume()));
    await eventually(async () => (sent.get(name)?.includes(': connected\n\n') ? true : undefined));
  };
  const beats = (name: string) => sent.get(name)!.filter((c) => c === ': keep-alive\n\n').length;

  it('come to each stream 15 s after its start and every 15 s after, not to all at once', async () => {
    await open('a');
    mock.timers.tick(5_000);
    await open('b');
    mock.timers.tick(9_000);
    assert.deepEqual([beats('a'), beats('b')], [0, 0], '14 s after the first stream started');
    mock.timers.tick(1_000);
    assert.deepEqual([beats('a'), beats('b')], [1, 0], 'the first, at 15 s; the second is at 10 s');
    mock.timers.tick(5_000);
    assert.deepEqual([beats('a'), beats('b')], [1, 1], 'the second at its own 15 s');
    mock.timers.tick(10_000);
    assert.deepEqual([beats('a'), beats('b')], [2, 1], 'the first again, 15 s after its last');
  });
});
