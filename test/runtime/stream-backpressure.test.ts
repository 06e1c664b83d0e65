import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually, sseFields } from './helpers.ts';

// 1,200 words of 10 KB, one per chunk: a 12 MB answer, several times what loopback socket buffers
// hold, in far more events than a follower keeps queued before it reads the log instead.
const words = Array.from({ length: 1200 }, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(10_000)}`);
const content = words.join(' ');

/** Complete frames of an SSE text (a frame cut off mid-way is dropped). */
function frames(text: string) {
  return text
    .split('\n\n')
    .slice(0, -1)
    .map(sseFields)
    .filter((f) => f.data !== undefined);
}

for (const store of stores) {
  describe(`a chat stream whose client reads slowly, on ${store}`, () => {
    let s: TestServer;
    let agent: { id: string };

    before(async () => {
      // A call that sets no max_tokens is capped at default_max_tokens: room for the whole answer.
      s = await startServer(store, {
        models: { default_max_tokens: 4_000_000, mock: { chunk_delay_ms: 0, words_per_chunk: 1 } },
      });
      agent = await createAgent(s, { name: 'long-winded', model: 'mock/long' });
    });
    after(() => s.close());

    it('cuts off a client that stops reading, frees its buffers, the run carries on, and a resume loses nothing', async () => {
      const responses: ServerResponse[] = [];
      s.app.http.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        if (req.url?.endsWith('/chat')) responses.push(res);
      });
      s.app.services.models.mock.script('long', [{ content }]);

      const req = http.request(`${s.url}/v1/agents/${agent.id}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      });
      req.end(JSON.stringify({ message: 'tell me everything', stream: true }));
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      assert.equal(res.statusCode, 200);
      // The cut shows on this side as a reset connection.
      req.on('error', () => {});
      res.on('error', () => {});

      // Read until the run id shows, then nothing more: the socket's receive buffer fills up.
      let received = '';
      const runId = await new Promise<string>((resolve) => {
        const onData = (chunk: Buffer) => {
          received += chunk.toString('utf8');
          const m = /"run_id":"([0-9a-f-]{36})"/.exec(received);
          if (!m) return;
          res.off('data', onData);
          res.pause();
          resolve(m[1]!);
        };
        res.on('data', onData);
      });
      const [stream] = responses;
      assert.ok(stream, 'the chat response was seen');

      // The server does not hold the stream for a client that takes nothing: after the stall limit
      // (10 s) it disconnects it, and the buffered bytes go with the socket.
      await eventually(async () => (stream.destroyed ? true : undefined), 60_000, 'the slow client cut off');
      assert.ok(stream.socket === null || stream.socket.destroyed, 'the socket is closed');
      // The run itself is not held back by its slow watcher, nor cancelled by the cut.
      await eventually(
        async () =>
          (await s.request('GET', `/v1/runs/${runId}`)).body.status === 'completed' ? true : undefined,
        60_000,
        'the run to complete',
      );

      // What the client got before the cut, then a resume after its last event id.
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        received += chunk;
      });
      res.resume();
      if (!res.closed) await new Promise((resolve) => res.on('close', resolve));
      const before = frames(received).filter((f) => f.id !== undefined);
      assert.ok(before.length > 0, 'some events arrived before the cut');
      assert.notEqual(frames(received).at(-1)?.data, '[DONE]', 'the first connection did not see the end');
      const lastId = before.at(-1)!.id!;
      const resumed = await fetch(`${s.url}/v1/runs/${runId}/stream`, {
        headers: { authorization: `Bearer ${s.adminKey}`, 'last-event-id': lastId },
      });
      const restText = await resumed.text();
      assert.equal(resumed.status, 200, restText.slice(0, 300));
      const rest = frames(restText);
      assert.ok(rest.length > 0, `resumed after ${lastId}: ${restText.slice(0, 300)}`);
      assert.equal(rest.at(-1)!.data, '[DONE]');
      const events = [...before, ...rest.filter((f) => f.id !== undefined)];
      const ids = events.map((f) => Number(f.id));
      assert.ok(
        ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1),
        'event ids run on without a gap or a repeat',
      );
      const text = events
        .filter((f) => f.event === 'text')
        .map((f) => JSON.parse(f.data!).delta)
        .join('');
      assert.equal(text.length, content.length);
      assert.ok(text === content, 'the streamed text is the answer, whole and in order');
    });
  });
}
