import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { PgliteDb } from '../../src/db/pglite.ts';
import { PostgresDb } from '../../src/db/postgres.ts';
import { textCandidates } from '../../src/memory/search.ts';
import { freshDatabase, stores } from '../helpers/server.ts';

// Full-text candidates rank a bounded number of matches (migration 0010): a rare word's chunks must
// still be found among many chunks of a common word, and within the cap the order is plain ts_rank.
for (const store of stores) {
  describe(`full-text candidates on ${store}`, () => {
    let db: Db;
    let drop = async () => {};
    const tenantId = newId();
    before(async () => {
      if (store === 'pglite') db = await PgliteDb.open('memory://');
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
      const got = await textCandidates(db, kb, 'harbour lighthouse', 10, null);
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
      assert.equal(got[0], ids[650]);
    });

    it('orders by ts_rank within the cap, honours the document filter, and answers nothing for stop words', async () => {
      const { kb, ids } = await kbWith([
        'garden tools',
        'garden garden garden hose',
        'kitchen knives',
        'garden hose reel',
      ]);
      assert.deepEqual(await textCandidates(db, kb, 'garden hose', 10, null), [ids[1], ids[3], ids[0]]);
      assert.deepEqual(await textCandidates(db, kb, 'garden hose', 10, [newId()]), []);
      assert.deepEqual(await textCandidates(db, kb, 'the of and', 10, null), []);
      // A phrase query takes the any-word path: the phrase, or the other word.
      const phrase = await textCandidates(db, kb, '"garden hose" knives', 10, null);
      assert.deepEqual(new Set(phrase), new Set([ids[1], ids[2], ids[3]]));
    });
  });
}
