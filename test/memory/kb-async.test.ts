import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../../src/db/ids.ts';
import { IngestJobs } from '../../src/memory/ingest-jobs.ts';
import type { BatchResult } from '../../src/memory/schema.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { FakeEmbeddings, serverWithEmbeddings } from './fake-embeddings.ts';
import { countRows, createKb } from './fixtures.ts';

type Job = {
  id: string;
  status: string;
  total: number;
  done: number;
  failed: number;
  error: string | null;
  result: { created: number; failed: number; data: { index: number; status: string }[] } | null;
};

/** Reads the ingest until `until` holds: at most 400 reads, 25 ms apart (ten seconds in all). */
async function follow(s: TestServer, kbId: string, id: string, until: (j: Job) => boolean): Promise<Job> {
  let job: Job | undefined;
  for (let i = 0; i < 400; i++) {
    const res = await s.request('GET', `/v1/knowledge-bases/${kbId}/ingests/${id}`);
    assert.equal(res.status, 200, res.text);
    job = res.body as Job;
    if (until(job)) return job;
    await sleep(25);
  }
  assert.fail(`ingest ${id} never reached the state looked for: ${JSON.stringify(job)}`);
}

const docs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    source: `turn-${i}.txt`,
    content: `turn ${i}: the puppy ate at noon`,
  }));

for (const store of stores) {
  describe(`async batch ingest on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    it('answers 202 with an ingest, then reports per-item results when finished', async () => {
      const kb = await createKb(s, 'async-json');
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents?async=true`, {
        body: [...docs(3), { source: 'bad.txt' }],
      });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.total, 4);
      assert.equal(res.body.status, 'running');
      assert.equal(res.headers.get('location'), `/v1/knowledge-bases/${kb.id}/ingests/${res.body.id}`);
      const job = await follow(s, kb.id, res.body.id, (j) => j.status !== 'running');
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      assert.deepEqual([job.done, job.failed], [4, 1]);
      assert.equal(job.result?.created, 3);
      assert.deepEqual(
        job.result?.data.map((d) => d.status),
        ['created', 'created', 'created', 'failed'],
      );
      assert.equal(await countRows(s, 'documents', kb.id), 3);
    });

    it('takes NDJSON too', async () => {
      const kb = await createKb(s, 'async-ndjson');
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents?async=true`, {
        body: `${docs(2)
          .map((d) => JSON.stringify(d))
          .join('\n')}\n{nope\n`,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(res.status, 202, res.text);
      const job = await follow(s, kb.id, res.body.id, (j) => j.status !== 'running');
      assert.deepEqual([job.status, job.done, job.failed], ['succeeded', 3, 1]);
    });

    it('refuses what cannot start with 4xx, never 500', async () => {
      const kb = await createKb(s, 'async-bad');
      const post = (query: string, body: unknown) =>
        s.request('POST', `/v1/knowledge-bases/${kb.id}/documents${query}`, { body });
      const one = await post('?async=true', { source: 'a.txt', content: 'one document' });
      assert.equal(one.status, 400, one.text);
      assert.match(one.body.error.message, /takes a batch/);
      assert.equal((await post('?async=true', [])).status, 400);
      assert.equal((await post('?async=yes', docs(1))).status, 400);
      assert.equal(
        (
          await post(
            '?async=true',
            Array.from({ length: 10_001 }, () => ({})),
          )
        ).status,
        413,
      );
      const missingKb = await s.request(
        'POST',
        '/v1/knowledge-bases/00000000-0000-4000-8000-000000000000/documents?async=true',
        { body: docs(1) },
      );
      assert.equal(missingKb.status, 404, missingKb.text);
      const missing = await s.request(
        'GET',
        `/v1/knowledge-bases/${kb.id}/ingests/00000000-0000-4000-8000-000000000000`,
      );
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'not_found');
      assert.equal((await s.request('GET', `/v1/knowledge-bases/${kb.id}/ingests/not-a-uuid`)).status, 400);
      // async=false is the ordinary synchronous batch.
      const sync = await post('?async=false', docs(1));
      assert.equal(sync.status, 200, sync.text);
      assert.equal(sync.body.created, 1);
    });

    it('says an ingest whose process stopped beating is interrupted, keeping what was written', async () => {
      const kb = await createKb(s, 'async-killed');
      const id = newId();
      // What a process killed outright leaves: a running ingest nobody has touched for two minutes.
      await s.app.db.query(
        `insert into kb_ingests (id, tenant_id, knowledge_base_id, total, done, updated_at)
         values ($1, $2, $3, 600, 256, now() - interval '2 minutes')`,
        [id, s.app.defaultTenantId, kb.id],
      );
      const job = await follow(s, kb.id, id, () => true);
      assert.equal(job.status, 'failed');
      assert.match(job.error ?? '', /^interrupted: the process running it stopped after 256 of 600 items/);
    });

    it('deletes finished ingests past the retention (7 days) when a new one starts', async () => {
      const kb = await createKb(s, 'async-retention');
      const [old, recent, longRunning] = [newId(), newId(), newId()];
      await s.app.db.query(
        `insert into kb_ingests (id, tenant_id, knowledge_base_id, total, status, created_at, finished_at)
         values ($1, $4, $5, 1, 'succeeded', now() - interval '9 days', now() - interval '8 days'),
                ($2, $4, $5, 1, 'failed', now() - interval '9 days', now() - interval '6 days'),
                ($3, $4, $5, 1, 'running', now() - interval '9 days', null)`,
        [old, recent, longRunning, s.app.defaultTenantId, kb.id],
      );
      const url = (id: string) => `/v1/knowledge-bases/${kb.id}/ingests/${id}`;
      assert.equal((await s.request('GET', url(old))).status, 200, 'kept until a new ingest starts');
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents?async=true`, {
        body: docs(1),
      });
      assert.equal(res.status, 202, res.text);
      const gone = await s.request('GET', url(old));
      assert.equal(gone.status, 404, gone.text);
      assert.equal(gone.body.error.code, 'not_found');
      assert.equal((await s.request('GET', url(recent))).body.status, 'failed');
      assert.equal((await s.request('GET', url(longRunning))).status, 200);
      await follow(s, kb.id, res.body.id, (j) => j.status !== 'running');
    });

    it('keeps a live ingest running past the stale time while its process beats', async () => {
      const kb = await createKb(s, 'async-live');
      // Stale after 1 s without a beat: a beat every 50 ms, and room for a loaded machine's pauses.
      const jobs = new IngestJobs(s.app.db, 0, { heartbeatMs: 50, staleAfterBeats: 20 });
      let finish!: () => void;
      const held = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const empty: BatchResult = { created: 0, updated: 0, unchanged: 0, failed: 0, data: [] };
      const job = await jobs.start(s.app.defaultTenantId, kb.id, 1, async () => {
        await held;
        return empty;
      });
      // Until the beats have kept it alive past the stale time, by the store's clock: only the beat
      // keeps it from being taken for dead. (A fixed sleep would race the beat on a slow machine.)
      for (let i = 0; ; i++) {
        const [row] = await s.app.db.query<{ ms: number }>(
          'select extract(epoch from updated_at - created_at)::float8 * 1000 as ms from kb_ingests where id = $1',
          [job.id],
        );
        if (Number(row!.ms) > 1_200) break;
        assert.ok(i < 600, `no beat past the stale time: the last ${row!.ms} ms after the start`);
        await sleep(25);
      }
      assert.equal((await jobs.get(s.app.defaultTenantId, kb.id, job.id)).status, 'running');
      finish();
      await jobs.settle();
      assert.equal((await jobs.get(s.app.defaultTenantId, kb.id, job.id)).status, 'succeeded');
    });
  });

  describe(`async batch ingest progress on ${store} with embeddings`, () => {
    let s: TestServer;
    const upstream = new FakeEmbeddings();
    before(async () => {
      s = await serverWithEmbeddings(store, upstream);
    });
    after(async () => {
      upstream.beforeAnswer = undefined;
      await s.close();
    });

    it('moves its progress after each written group, and embeds in calls of many texts', async () => {
      const kb = await createKb(s, 'async-progress');
      // The gateway sends 64 texts per call, so the first group of 256 chunks takes calls 1 to 4; the
      // second group's first call (5) is held until the test has seen the first group's progress.
      let reached!: () => void;
      const second = new Promise<void>((resolve) => {
        reached = resolve;
      });
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      upstream.requests = 0;
      upstream.beforeAnswer = (n) => {
        if (n !== 5) return;
        reached();
        return gate;
      };
      // 600 one-chunk documents: groups of 256, 256 and 88 chunks.
      const res = await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents?async=true`, {
        body: docs(600),
      });
      assert.equal(res.status, 202, res.text);
      await second;
      const midway = await follow(s, kb.id, res.body.id, () => true);
      assert.equal(midway.status, 'running');
      assert.deepEqual([midway.done, midway.failed, midway.total], [256, 0, 600]);
      assert.equal(midway.result, null);
      open();
      const job = await follow(s, kb.id, res.body.id, (j) => j.status !== 'running');
      assert.deepEqual([job.status, job.done, job.failed, job.result?.created], ['succeeded', 600, 0, 600]);
      // 4 + 4 + 2 calls of up to 64 texts, not one per document.
      assert.equal(upstream.requests, 10, 'embeddings are computed in batches');
      assert.equal(await countRows(s, 'documents', kb.id), 600);
    });
  });
}
