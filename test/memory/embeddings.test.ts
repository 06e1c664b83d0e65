import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OfflineEmbedder } from '../../src/memory/embeddings.ts';
import { startServer, stores, type TestResponse, type TestServer } from '../helpers/server.ts';
import { FakeEmbeddings, serverWithEmbeddings } from './fake-embeddings.ts';
import { addDoc, countRows, createKb, search } from './fixtures.ts';

const handbook = `# Care

## Feeding

Give the dog a meal twice a day.

## Water

Keep the bowl full so it never gets thirsty.

## Security

The siren must stay on; nobody may deactivate it from afar.
`;

for (const store of stores) {
  describe(`hybrid search with gateway embeddings on ${store}`, () => {
    let s: TestServer;
    const upstream = new FakeEmbeddings();
    before(async () => {
      s = await serverWithEmbeddings(store, upstream);
    });
    after(() => s.close());

    it('stores vectors where the store keeps them: pgvector on PGlite, real[] on PostgreSQL', async () => {
      const kb = await createKb(s, 'where');
      await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      const expected = store === 'pglite' ? 'pgvector' : 'exact';
      assert.equal(s.app.services.memory.vectors.kind, expected);
      const column = expected === 'pgvector' ? 'embedding_vec' : 'embedding';
      // The column name is one of two literals above.
      const [row] = await s.app.db.query<{ n: number; dims: number }>(
        `select count(*)::int as n, max(embedding_dims) as dims from chunks where knowledge_base_id = $1 and ${column} is not null`,
        [kb.id],
      );
      assert.deepEqual(row, { n: 3, dims: 64 });
    });

    it('lists each document with its ingestion state: embedded, with its vectors counted and their model', async () => {
      const kb = await createKb(s, 'states');
      await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      await addDoc(s, kb.id, { source: 'blank.md', content: '   ' });
      const list = await s.request('GET', `/v1/knowledge-bases/${kb.id}/documents`);
      assert.equal(list.status, 200, list.text);
      const bySource = Object.fromEntries(
        list.body.data.map((d: Record<string, unknown>) => [
          d.source,
          [d.ingestion, d.chunk_count, d.embedded_chunks, d.embedding_model],
        ]),
      );
      assert.deepEqual(bySource, {
        'blank.md': ['empty', 0, 0, null],
        'care.md': ['embedded', 3, 3, 'gateway:emb/concept'],
      });
      const one = await s.request('GET', `/v1/knowledge-bases/${kb.id}/documents/${list.body.data[1].id}`);
      assert.equal(one.body.ingestion, 'embedded');
    });

    it('finds a paraphrase that shares no word with the text, and fuses both lists', async () => {
      const kb = await createKb(s, 'para');
      await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      const vectorOnly = await search(s, kb.id, { query: 'hungry puppy', mode: 'vector', top_k: 1 });
      assert.equal(vectorOnly.mode, 'vector');
      assert.deepEqual(vectorOnly.data[0]!.heading_path, ['Care', 'Feeding']);
      assert.equal(vectorOnly.data[0]!.text_rank, null);
      const text = await search(s, kb.id, { query: 'hungry puppy', mode: 'text' });
      assert.equal(text.data.length, 0, 'full-text alone finds nothing');
      const hybrid = await search(s, kb.id, { query: 'can I switch off the alarm', top_k: 3 });
      assert.equal(hybrid.mode, 'hybrid');
      assert.deepEqual(hybrid.data[0]!.heading_path, ['Care', 'Security']);
      assert.equal(hybrid.data[0]!.vector_rank, 1);
      const both = await search(s, kb.id, { query: 'dog meal', top_k: 3 });
      assert.equal(both.data[0]!.text_rank, 1);
      assert.equal(both.data[0]!.vector_rank, 1);
      assert.ok(both.data[0]!.score > both.data[1]!.score);
    });

    it('drops deleted and replaced chunks from vector results', async () => {
      const kb = await createKb(s, 'fresh');
      const doc = await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      await addDoc(s, kb.id, { source: 'other.md', content: '# Other\n\nTaxes are due in April.' });
      assert.equal(
        (await search(s, kb.id, { query: 'hungry puppy', mode: 'vector', top_k: 10 })).data.length,
        4,
      );
      await s.request('DELETE', `/v1/knowledge-bases/${kb.id}/documents/${doc.document.id}`);
      const after = await search(s, kb.id, { query: 'hungry puppy', mode: 'vector', top_k: 10 });
      assert.deepEqual(
        after.data.map((h) => h.document.source),
        ['other.md'],
      );
      await addDoc(s, kb.id, { source: 'other.md', content: '# Other\n\nThe canine eats at noon.' });
      const replaced = await search(s, kb.id, { query: 'hungry puppy', mode: 'vector', top_k: 10 });
      assert.equal(replaced.data.length, 1);
      assert.match(replaced.data[0]!.content, /canine/);
    });

    it('embeds through the model gateway, so usage is recorded per tenant', async () => {
      const kb = await createKb(s, 'usage');
      const before = upstream.inputs;
      await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      assert.equal(upstream.inputs - before, 3);
      const again = await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      assert.equal(again.status, 'unchanged');
      assert.equal(upstream.inputs - before, 3, 'an unchanged document is not embedded again');
      await s.app.services.models.flush();
      const rows = await s.app.db.query<{
        model: string;
        input_tokens: number;
        output_tokens: number;
      }>(
        `select model, input_tokens, output_tokens from usage where model = 'emb/concept' and outcome = 'ok'`,
      );
      assert.ok(rows.length > 0);
      assert.ok(rows.every((r) => r.input_tokens > 0 && r.output_tokens === 0));
    });

    it('a failing embedding provider leaves the knowledge base as it was', async () => {
      const kb = await createKb(s, 'failing');
      upstream.failWith = 500;
      try {
        const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
          body: { source: 'care.md', content: handbook },
        });
        assert.ok(res.status >= 500 && res.status < 600 && res.status !== 500, res.text);
      } finally {
        upstream.failWith = undefined;
      }
      assert.equal(await countRows(s, 'documents', kb.id), 0);
      assert.equal(await countRows(s, 'chunks', kb.id), 0);
    });

    it('a tenant whose budget is spent gets the budget error on ingest and search, and nothing is written', async () => {
      const kb = await createKb(s, 'budget');
      const { policies, models } = s.app.services;
      const { db } = s.app;
      try {
        // Metered from here: one document is embedded, then the day's budget is set to what it used.
        policies.set({ tenants: { default: { budgets: { tokens_per_day: 1_000_000 } } } });
        const first = await addDoc(s, kb.id, { source: 'care.md', content: handbook });
        await models.flush();
        const [counter] = await db.query<{ used: number }>(
          `select used from limit_counters where key like 'b:%:t:tokens:____-__-__'`,
        );
        assert.ok(counter && counter.used > 0, 'the embedding was counted against the budget');
        // Spent, not too small: a budget smaller than one call is refused as exceeds_limit instead.
        const limit = 1_000 + counter.used;
        policies.set({ tenants: { default: { budgets: { tokens_per_day: limit } } } });
        await db.query(`update limit_counters set used = $1 where key like 'b:%:t:tokens:____-__-__'`, [
          limit,
        ]);
        const embedded = upstream.inputs;

        const refused = (res: TestResponse) => {
          assert.equal(res.status, 429, res.text);
          assert.equal(res.body.error.code, 'rate_limited');
          assert.match(res.body.error.message, /tenant default budget tokens_per_day exceeded/);
        };
        refused(
          await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
            body: { source: 'other.md', content: '# Other\n\nTaxes are due in April.' },
          }),
        );
        refused(
          await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
            body: { source: 'care.md', content: `${handbook}\n## Walks\n\nTwice a day.\n` },
          }),
        );
        refused(await s.request('POST', `/v1/knowledge-bases/${kb.id}/search`, { body: { query: 'puppy' } }));
        assert.equal(upstream.inputs, embedded, 'nothing reached the embedding upstream');
        // The knowledge base is as the first ingest left it: no new document, the old chunks unreplaced.
        assert.equal(await countRows(s, 'documents', kb.id), 1);
        assert.equal(await countRows(s, 'chunks', kb.id), first.document.chunk_count);
        const [doc] = await db.query<{ content_hash: string }>(
          'select content_hash from documents where knowledge_base_id = $1',
          [kb.id],
        );
        assert.equal(doc!.content_hash, first.document.content_hash);
        // Full-text search embeds nothing, so it still answers within a spent budget.
        const text = await search(s, kb.id, { query: 'meal', mode: 'text' });
        assert.deepEqual(text.data[0]!.heading_path, ['Care', 'Feeding']);
      } finally {
        policies.set({ tenants: {} });
      }
    });
  });
}

describe('offline embedder (Universal Sentence Encoder shipped in an npm package)', () => {
  it('loads from the package and places paraphrases closer than unrelated text', async () => {
    const e = new OfflineEmbedder();
    const [a, b, c] = await e.embed([
      'the dog needs water',
      'give the puppy something to drink',
      'stock prices fell',
    ]);
    const dot = (x: number[], y: number[]) => x.reduce((n, v, i) => n + v * y[i]!, 0);
    assert.equal(a!.length, 512);
    assert.ok(dot(a!, b!) > dot(a!, c!) + 0.2, `${dot(a!, b!)} vs ${dot(a!, c!)}`);
  });

  it('serves hybrid search in a server configured with provider offline', async () => {
    const s = await startServer('pglite', { memory: { embeddings: { provider: 'offline' } } });
    try {
      const kb = await createKb(s, 'offline');
      await addDoc(s, kb.id, { source: 'care.md', content: handbook });
      const hits = await search(s, kb.id, {
        query: 'what should the puppy have for dinner',
        mode: 'vector',
        top_k: 1,
      });
      assert.deepEqual(hits.data[0]!.heading_path, ['Care', 'Feeding']);
    } finally {
      await s.close();
    }
  });
});
