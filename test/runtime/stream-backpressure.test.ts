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

for (const store of stores) {
  describe(`a chat stream whose client reads slowly, on ${store}`, () => {
    let s: TestServer;
    let agent: { id: string };

    before(async () => {
      s = await startServer(store, { models: { mock: { chunk_delay_ms: 0, words_per_chunk: 1 } } });
      agent = await createAgent(s, { name: 'long-winded', model: 'mock/long' });
    });
    after(() => s.close());

    it('holds the stream back while the run finishes, then delivers every event in order', async () => {
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

      // Read until the run id shows, then nothing more.
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

      // The run is not held back by its slow watcher: it finishes while nothing is read.
      await eventually(
        async () =>
          (await s.request('GET', `/v1/runs/${runId}`)).body.status === 'completed' ? true : undefined,
        60_000,
        'the run to complete',
      );
      const [stream] = responses;
      assert.ok(stream, 'the chat response was seen');
      assert.ok(
        stream.writableLength < 1_000_000,
        `the server buffered ${stream.writableLength} bytes for a client that reads nothing`,
      );

      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        received += chunk;
      });
      res.resume();
      await once(res, 'end');

      const frames = received
        .split('\n\n')
        .map(sseFields)
        .filter((f) => f.data !== undefined);
      assert.equal(frames.at(-1)!.data, '[DONE]');
      const events = frames.slice(0, -1);
      const ids = events.map((f) => Number(f.id));
      assert.ok(
        ids.every((id, i) => i === 0 || id > ids[i - 1]!),
        'event ids only go up',
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
