import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { PostgresDb } from '../../src/db/postgres.ts';
import { textCandidates } from '../../src/memory/search.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';
import { freshDatabase, stores } from '../helpers/server.ts';

// Full-text candidates rank a bounded number of matches (migration 0010): a rare word's chunks must
// still be found among many chunks of a common word, and within the cap the order is plain ts_rank.
for (const store of stores) {
  describe(`full-text candidates on ${store}`, () => {
    let db: Db;
    let drop = async () => {};
    const tenantId = newId();
    before(async () => {
      if (store === 'pglite') db = await openTestPglite();
      else {
        const fresh = await freshDatabase();
        db = await PostgresDb.open(fresh.url, { max: 2 });
        drop = fresh.drop;
      }
      await migrate(db);
      await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, 'fts']);
    });
    after(async () => {
      await db.close();
      await drop();
    });

    /** A knowledge base of one document whose chunks have these texts; returns the chunk ids in order. */
    async function kbWith(
      texts: string[],
    ): Promise<{ kb: { id: string; tenant_id: string }; ids: string[] }> {
      const kbId = newId();
      const docId = newId();
      await db.query(
        `insert into knowledge_bases (id, tenant_id, name, kind) values ($1, $2, $3, 'domain')`,
        [kbId, tenantId, kbId],
      );
      await db.query(
        `insert into documents (id, tenant_id, knowledge_base_id, source, format, content_hash, bytes)
         values ($1, $2, $3, $4, 'text', '', 0)`,
        [docId, tenantId, kbId, docId],
      );
      const ids = texts.map(() => newId());
      await db.query(
        `insert into chunks (id, tenant_id, knowledge_base_id, document_id, position, content, tsv)
         select r.id, $1, $2, $3, r.n, r.content, to_tsvector('english', r.content)
           from unnest($4::uuid[], $5::text[]) with ordinality as r(id, content, n)`,
        [tenantId, kbId, docId, ids, texts],
      );
      return { kb: { id: kbId, tenant_id: tenantId }, ids };
    }

    it('finds the chunks of a rare word among more matches of a common word than it ranks', async () => {
      // 400 chunks with "harbour" (over the cap of 300), and the one with "lighthouse" near the end.
      const texts = Array.from({ length: 400 }, (_, i) => `harbour boats number ${i}`);
      texts[390] = 'harbour lighthouse keeper';
      const { kb, ids } = await kbWith(texts);
      const got = (await textCandidates(db, kb, 'harbour lighthouse', 10, null)).map((c) => c.id);
      assert.equal(got[0], ids[390]);
      assert.equal(got.length, 10);
    });

    it('prefers the chunks with all the words when every word is common', async () => {
      const texts = Array.from({ length: 700 }, (_, i) =>
        i % 2 ? `harbour boats ${i}` : `harbour quay walls ${i}`,
      );
      texts[650] = 'boats moored at the quay';
      const { kb, ids } = await kbWith(texts);
      const got = await textCandidates(db, kb, 'quay boats', 5, null);
      assert.equal(got[0]!.id, ids[650]);
      assert.equal(got[0]!.score, 1, 'it has every word of the query');
    });

    it('orders by the share of the query covered, ts_rank among equals, honours the document filter, and answers nothing for stop words', async () => {
      const { kb, ids } = await kbWith([
        'garden tools',
        'garden garden garden hose',
        'kitchen knives',
        'garden hose reel',
      ]);
      const got = await textCandidates(db, kb, 'garden hose', 10, null);
      assert.deepEqual(
        got.map((c) => c.id),
        [ids[1], ids[3], ids[0]],
      );
      assert.deepEqual(
        got.map((c) => c.score),
        [1, 1, got[2]!.score],
      );
      assert.ok(got[2]!.score > 0 && got[2]!.score < 0.5, 'garden is the commoner word');
      assert.deepEqual(await textCandidates(db, kb, 'garden hose', 10, [newId()]), []);
      assert.deepEqual(await textCandidates(db, kb, 'the of and', 10, null), []);
      // A phrase query takes the any-word path: the phrase, or the other word.
      const phrase = await textCandidates(db, kb, '"garden hose" knives', 10, null);
      assert.deepEqual(new Set(phrase.map((c) => c.id)), new Set([ids[1], ids[2], ids[3]]));
    });

    it('weighs a rare word above a common one, however often the common one occurs', async () => {
      // A name that starts every turn matches much; the question's rarer word tells the turns apart.
      const texts = Array.from({ length: 30 }, (_, i) => `Caroline: Caroline says hello ${i}`);
      texts.push('Melanie: the pottery class was fun');
      const { kb, ids } = await kbWith(texts);
      const got = await textCandidates(db, kb, 'When did Caroline go to the pottery class?', 5, null);
      assert.equal(got[0]!.id, ids[30]);
      assert.ok(got[0]!.score > 3 * got[1]!.score, JSON.stringify(got.map((c) => c.score)));
      // Under negation a word adds nothing.
      const not = await textCandidates(db, kb, 'pottery -caroline', 5, null);
      assert.equal(not[0]!.id, ids[30]);
      assert.equal(not[0]!.score, 1);
    });

    it('with statistics, leaves out the lookup of a word common in the knowledge base and still fills the list', async () => {
      const texts = Array.from({ length: 1200 }, (_, i) => `harbour boats number ${i}`);
      for (let i = 1100; i < 1105; i++) texts[i] = `lighthouse lighthouse keeper ${i}`;
      const { kb, ids } = await kbWith(texts);
      await db.exec('analyze chunks (tsv, knowledge_base_id)');
      // The condition of migration 0012 holds for "harbour" here, and not for "lighthouse".
      const common = await db.query<{ t: string }>(
        `select m.e as t
           from pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as m(e, f),
                (select m.f from pg_stats s, unnest(s.most_common_vals::text::uuid[], s.most_common_freqs) as m(v, f)
                  where s.tablename = 'chunks' and s.attname = 'knowledge_base_id' and m.v = $1) k,
                (select reltuples from pg_class where oid = 'chunks'::regclass) r
          where s.tablename = 'chunks' and s.attname = 'tsv' and m.e in ('harbour', 'lighthous')
            and m.f - (1 - k.f) > 300 / r.reltuples`,
        [kb.id],
      );
      assert.deepEqual(
        common.map((r) => r.t),
        ['harbour'],
      );
      const mine = new Set(ids);
      const got = (await textCandidates(db, kb, 'harbour lighthouse', 50, null)).map((c) => c.id);
      assert.equal(got.length, 50);
      assert.deepEqual(new Set(got.slice(0, 5)), new Set(ids.slice(1100, 1105)));
      assert.ok(got.every((id) => mine.has(id)));
      // Every word common: the least common one is looked up and the list is full.
      const both = (await textCandidates(db, kb, 'harbour boats', 20, null)).map((c) => c.id);
      assert.equal(both.length, 20);
      assert.ok(both.every((id) => mine.has(id) && !ids.slice(1100, 1105).includes(id)));
    });
  });
}
