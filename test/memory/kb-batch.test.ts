import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { FakeEmbeddings, serverWithEmbeddings } from './fake-embeddings.ts';
import { countRows, createKb, search } from './fixtures.ts';

type Item = {
  index: number;
  source: string | null;
  status: string;
  error?: { code: string; message: string };
};

for (const store of stores) {
  describe(`batch ingest and search settings on ${store} without embeddings`, () => {
    let s: TestServer;
    before(async () => {
      // A small document cap, so a body over the route's limit is cheap to send.
      s = await startServer(store, { memory: { max_document_bytes: 20_000 } });
    });
    // Requests a test leaves open (one that failed before its end) would hold the server's close.
    const open: http.ClientRequest[] = [];
    after(async () => {
      for (const r of open) r.destroy();
      await s.close();
    });

    it('ingests a JSON array with a result per item; a bad item gets its own error and the rest go in', async () => {
      const kb = await createKb(s, 'batch-json');
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: [
          {
            source: 't1.txt',
            content: 'The ferry leaves at nine.',
            metadata: { speaker: 'Ann', date: '8 May, 2023' },
          },
          { source: 't2.txt', content: 'The bakery opens at seven.' },
          { source: 'bad.txt' },
          { source: 'broken.pdf', content_base64: Buffer.from('not a pdf at all').toString('base64') },
          { source: 't1.txt', content: 'the same source again' },
          { source: 'big.txt', content: 'x'.repeat(20_001) },
        ],
      });
      assert.equal(res.status, 200, res.text);
      const by = (i: number) => res.body.data.find((d: Item) => d.index === i) as Item;
      assert.equal(by(0).status, 'created');
      assert.equal(by(1).status, 'created');
      assert.equal(by(2).status, 'failed');
      assert.equal(by(2).error?.code, 'validation_error');
      assert.equal(by(3).status, 'failed');
      assert.equal(by(3).error?.code, 'unprocessable', JSON.stringify(by(3)));
      assert.equal(by(4).status, 'failed');
      assert.match(by(4).error!.message, /twice/);
      assert.equal(by(5).error?.code, 'payload_too_large');
      assert.deepEqual(
        {
          created: res.body.created,
          updated: res.body.updated,
          unchanged: res.body.unchanged,
          failed: res.body.failed,
        },
        { created: 2, updated: 0, unchanged: 0, failed: 4 },
      );
      assert.equal(await countRows(s, 'documents', kb.id), 2);
      // Sent again, the good ones are unchanged.
      const again = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: [
          {
            source: 't1.txt',
            content: 'The ferry leaves at nine.',
            metadata: { speaker: 'Ann', date: '8 May, 2023' },
          },
        ],
      });
      assert.equal(again.body.data[0].status, 'unchanged');
      // Search hits carry the document's metadata.
      const hits = await search(s, kb.id, { query: 'ferry', mode: 'text' });
      assert.deepEqual(hits.data[0]!.document.metadata, { speaker: 'Ann', date: '8 May, 2023' });
    });

    it('ingests NDJSON, where a line that is not JSON fails alone', async () => {
      const kb = await createKb(s, 'batch-ndjson');
      const lines = [
        JSON.stringify({ source: 'a.md', content: '# A\n\nalpha' }),
        '{not json',
        JSON.stringify({ source: 'b.md', content: '# B\n\nbeta' }),
      ];
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: `${lines.join('\n')}\n`,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.body.data.map((d: Item) => d.status),
        ['created', 'failed', 'created'],
      );
      // As a JSON body that is not JSON: 400 bad_request, naming the line.
      assert.equal(res.body.data[1].error.code, 'bad_request');
      assert.match(res.body.data[1].error.message, /malformed line 2/);
      assert.equal(await countRows(s, 'documents', kb.id), 2);
    });

    it("holds each NDJSON line to a JSON body's rules: depth, NUL and lone surrogates, prototype keys", async () => {
      const kb = await createKb(s, 'batch-ndjson-edges');
      const nested = (source: string, depth: number) =>
        `{"source":"${source}","content":"deep","metadata":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
      const lines = [
        JSON.stringify({ source: 'ok1.md', content: 'first' }),
        nested('deep5000.md', 5000),
        nested('deep1000.md', 1000),
        '{"source":"nul.md","content":"a\\u0000b"}',
        '{"source":"surrogate.md","content":"a\\ud800b"}',
        '{"source":"proto.md","content":"p","metadata":{"__proto__":{"admin":true}}}',
        '{"source":"ctor.md","content":"c","metadata":{"constructor":{"prototype":{"admin":true}}}}',
        JSON.stringify({ source: 'ok2.md', content: 'second' }),
      ];
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: `${lines.join('\n')}\n`,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(res.status, 200, res.text);
      const items = res.body.data as Item[];
      assert.deepEqual(
        items.map((d) => d.status),
        ['created', 'failed', 'failed', 'failed', 'failed', 'failed', 'failed', 'created'],
        res.text.slice(0, 2000),
      );
      // The same codes and messages as a JSON body would get, each naming its line.
      for (const i of [1, 2, 3, 4, 5, 6]) {
        assert.equal(items[i]!.error?.code, 'bad_request', JSON.stringify(items[i]));
        assert.match(items[i]!.error!.message, new RegExp(`line ${i + 1}`), JSON.stringify(items[i]));
      }
      assert.match(items[1]!.error!.message, /nested deeper than 64 levels/);
      assert.match(items[2]!.error!.message, /nested deeper than 64 levels/);
      assert.match(items[3]!.error!.message, /\$\.content holds a NUL character or a lone surrogate/);
      assert.match(items[4]!.error!.message, /\$\.content holds a NUL character or a lone surrogate/);
      assert.equal(await countRows(s, 'documents', kb.id), 2);
    });

    it('refuses an empty batch (400), too many items and a body over the limit (413), never 500', async () => {
      const kb = await createKb(s, 'batch-limits');
      const post = (body: unknown) => s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, { body });
      const empty = await post([]);
      assert.equal(empty.status, 400, empty.text);
      assert.equal(empty.body.error.code, 'validation_error');
      // 10,001 empty items fit in the body limit; their count is refused before any is read.
      const many = await post(Array.from({ length: 10_001 }, () => ({})));
      assert.equal(many.status, 413, many.text);
      assert.match(many.body.error.message, /at most 10000/);
      assert.equal(many.body.error.code, 'payload_too_large');
      const big = await post(
        Array.from({ length: 20 }, (_, i) => ({ source: `${i}`, content: 'y'.repeat(10_000) })),
      );
      assert.equal(big.status, 413, big.text);
      assert.equal(await countRows(s, 'documents', kb.id), 0);
    });

    it('refuses an NDJSON batch past 10,000 lines at the first line over, before the rest of the body is sent', {
      timeout: 60_000,
    }, async () => {
      const kb = await createKb(s, 'batch-ndjson-limits');
      const path = `/v1/knowledge-bases/${kb.id}/documents`;
      // 10,001 documents are sent, and the body says 100 more follow: the answer cannot wait for them.
      const sent = '{}\n'.repeat(10_001);
      const req = http.request(`${s.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          'content-type': 'application/x-ndjson',
          'content-length': String(sent.length + 300),
        },
      });
      req.on('error', () => {});
      open.push(req);
      req.write(sent);
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      let text = '';
      for await (const part of res) text += part;
      req.destroy();
      assert.equal(res.statusCode, 413, text);
      const body = JSON.parse(text);
      assert.equal(body.error.code, 'payload_too_large');
      assert.match(body.error.message, /more than 10000 documents in one batch; send at most 10000/);

      // More bytes than the route takes (here about 128 kB): 413 too, never 500.
      const big = await s.request('POST', path, {
        body: `${JSON.stringify({ source: 'big.md', content: 'z'.repeat(140_000) })}\n`,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(big.status, 413, big.text);
      assert.match(big.body.error.message, /larger than the limit of \d+ bytes/);
      assert.equal(await countRows(s, 'documents', kb.id), 0);
    });

    it('says in the search response, /health and the mode that ran that vector search is off', async () => {
      const kb = await createKb(s, 'honest');
      await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: [{ source: 'x.txt', content: 'lighthouse keeper' }],
      });
      const hybrid = await search(s, kb.id, { query: 'lighthouse' });
      assert.equal(hybrid.mode, 'text');
      assert.equal(hybrid.vector_search, 'off');
      assert.equal(hybrid.weights, undefined);
      assert.match(hybrid.notice ?? '', /vector search is off.*AGENTRY_EMBEDDINGS=offline/);
      const text = await search(s, kb.id, { query: 'lighthouse', mode: 'text' });
      assert.equal(text.notice, undefined, 'asking for text is no surprise');
      const health = await s.request('GET', '/health');
      const component = health.body.components.vector_search;
      assert.equal(component.status, 'off', 'off by choice: neither healthy nor a fault');
      assert.equal(component.detail.state, 'off');
      assert.match(component.detail.reason, /^off: set AGENTRY_EMBEDDINGS=offline/);
      assert.match(component.detail.how, /AGENTRY_EMBEDDINGS=offline/);
    });

    it('refuses fusion weights that cannot work with 400', async () => {
      const kb = await createKb(s, 'weights-bad');
      for (const weights of [{ text: -1, vector: 1 }, { text: 0, vector: 0 }, { text: 1 }]) {
        const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/search`, {
          body: { query: 'x', weights },
        });
        assert.equal(res.status, 400, JSON.stringify(weights));
      }
    });
  });

  describe(`fusion weights on ${store} with embeddings`, () => {
    let s: TestServer;
    const upstream = new FakeEmbeddings();
    before(async () => {
      s = await serverWithEmbeddings(store, upstream);
    });
    after(() => s.close());

    it('runs the fusion and weights a request sets and says so; with none, the configured ones', async () => {
      const kb = await createKb(s, 'weights');
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: [
          { source: 'dog.txt', content: 'the puppy is hungry at noon' },
          { source: 'alarm.txt', content: 'the siren sounds at night' },
          { source: 'dog2.txt', content: 'dog dog dog' },
        ],
      });
      assert.equal(res.body.created, 3, res.text);
      const fallback = await search(s, kb.id, { query: 'dog food' });
      assert.equal(fallback.mode, 'hybrid');
      assert.equal(fallback.vector_search, 'on');
      assert.equal(fallback.fusion, 'score');
      assert.deepEqual(fallback.weights, { text: 1, vector: 3 });
      // Weighted RRF on request, at its own default weights.
      const rrf = await search(s, kb.id, { query: 'dog food', fusion: 'rrf' });
      assert.equal(rrf.fusion, 'rrf');
      assert.deepEqual(rrf.weights, { text: 1, vector: 0.3 });
      const rrfOwn = await search(s, kb.id, {
        query: 'dog food',
        fusion: 'rrf',
        weights: { text: 1, vector: 1 },
      });
      assert.deepEqual(rrfOwn.weights, { text: 1, vector: 1 });
      // Vector weight 0: the order is full-text's, and a chunk only vectors found scores 0.
      const textOnly = await search(s, kb.id, { query: 'dog food', weights: { text: 1, vector: 0 } });
      assert.deepEqual(textOnly.weights, { text: 1, vector: 0 });
      const textOrder = await search(s, kb.id, { query: 'dog food', mode: 'text' });
      assert.deepEqual(
        textOnly.data.filter((h) => h.text_rank !== null).map((h) => h.chunk_id),
        textOrder.data.map((h) => h.chunk_id),
      );
      for (const h of textOnly.data) if (h.text_rank === null) assert.equal(h.score, 0);
      // Text weight 0: the order is the vector list's.
      const vecOnly = await search(s, kb.id, { query: 'dog food', weights: { text: 0, vector: 1 } });
      const vecOrder = await search(s, kb.id, { query: 'dog food', mode: 'vector' });
      assert.deepEqual(
        vecOnly.data.filter((h) => h.vector_rank !== null).map((h) => h.chunk_id),
        vecOrder.data.map((h) => h.chunk_id),
      );
      assert.equal(vecOrder.weights, undefined, 'weights are reported for hybrid only');
      assert.equal(vecOrder.fusion, undefined, 'and so is the fusion');
    });
  });
}
