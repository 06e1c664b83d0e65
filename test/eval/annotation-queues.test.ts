import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

for (const store of stores) {
  describe(`annotation queues on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    /** Reviewers: keys made for two people, and a program's key (scores as `api`). */
    let alice: string;
    let bob: string;
    let reader: string;
    const runs: string[] = [];
    const key = async (scopes: string[], owner?: string) => {
      const res = await s.request('POST', '/v1/keys', { body: { scopes, ...(owner && { owner }) } });
      assert.equal(res.status, 201, res.text);
      return res.body.secret as string;
    };
    const chat = async (agent: string, message: string) => {
      const res = await s.request('POST', `/v1/agents/${agent}/chat`, { body: { message, stream: false } });
      assert.equal(res.status, 200, res.text);
      return res.body.run_id as string;
    };
    const queue = async (name: string, extra: Body = {}) => {
      const res = await s.request('POST', '/v1/annotation-queues', {
        body: { name, score_configs: ['quality', 'ok'], ...extra },
      });
      assert.equal(res.status, 201, res.text);
      return res.body as Body;
    };
    const fill = async (id: string, body: unknown) => {
      const res = await s.request('POST', `/v1/annotation-queues/${id}/items`, { body });
      assert.equal(res.status, 200, res.text);
      return res.body as { added: number; already: number };
    };
    const next = (id: string, as: string) =>
      s.request('POST', `/v1/annotation-queues/${id}/next`, { key: as });

    before(async () => {
      s = await startServer(store, { tasks: { workers: 2 } as never });
      agentId = (await s.request('POST', '/v1/agents', { body: { name: 'reviewed', model: 'mock/default' } }))
        .body.id;
      await s.request('POST', '/v1/agents', { body: { name: 'other', model: 'mock/default' } });
      alice = await key(['write'], 'user:alice');
      bob = await key(['write'], 'user:bob');
      reader = await key(['read']);
      for (const w of ['one', 'two', 'three', 'four']) runs.push(await chat(agentId, w));
      await chat('other', 'not this agent');
      for (const body of [
        { name: 'quality', kind: 'numeric', min: 1, max: 5 },
        { name: 'ok', kind: 'boolean' },
        { name: 'unused', kind: 'boolean' },
      ])
        assert.equal((await s.request('POST', '/v1/score-configs', { body })).status, 201);
      const ds = await s.request('POST', '/v1/datasets', { body: { name: 'gold' } });
      assert.equal(ds.status, 201, ds.text);
    });
    after(() => s.close());

    it('makes, reads, lists, changes and deletes queues; refuses bad configs and readers', async () => {
      const q = await queue('triage', { description: 'first look', dataset: 'gold', lease_seconds: 60 });
      assert.deepEqual(
        q.score_configs.map((c: Body) => c.name),
        ['quality', 'ok'],
      );
      assert.equal(q.lease_seconds, 60);
      assert.ok(q.dataset_id);
      assert.deepEqual(q.counts, { total: 0, pending: 0, claimed: 0, done: 0, skipped: 0 });
      assert.equal((await s.request('GET', `/v1/annotation-queues/${q.id}`)).body.name, 'triage');
      const list = await s.request('GET', '/v1/annotation-queues', { key: reader });
      assert.equal(list.status, 200, list.text);
      assert.ok(list.body.data.some((x: Body) => x.id === q.id));
      const again = await s.request('POST', '/v1/annotation-queues', {
        body: { name: 'triage', score_configs: ['ok'] },
      });
      assert.equal(again.status, 409, again.text);
      const unknown = await s.request('POST', '/v1/annotation-queues', {
        body: { name: 'bad', score_configs: ['nope'] },
      });
      assert.equal(unknown.status, 400, unknown.text);
      assert.match(unknown.body.error.message, /score_configs\.0: no score config nope/);
      const twice = await s.request('POST', '/v1/annotation-queues', {
        body: { name: 'bad', score_configs: ['ok', 'ok'] },
      });
      assert.equal(twice.status, 400, twice.text);
      const noDataset = await s.request('POST', '/v1/annotation-queues', {
        body: { name: 'bad', score_configs: ['ok'], dataset: 'missing' },
      });
      assert.equal(noDataset.status, 400, noDataset.text);
      const readOnly = await s.request('POST', '/v1/annotation-queues', {
        body: { name: 'mine', score_configs: ['ok'] },
        key: reader,
      });
      assert.equal(readOnly.status, 403, readOnly.text);

      const changed = await s.request('PATCH', `/v1/annotation-queues/${q.id}`, {
        body: { description: 'second look', score_configs: ['ok'], dataset: null },
      });
      assert.equal(changed.status, 200, changed.text);
      assert.deepEqual(
        [changed.body.description, changed.body.score_configs.length, changed.body.dataset_id],
        ['second look', 1, null],
      );
      const badPatch = await s.request('PATCH', `/v1/annotation-queues/${q.id}`, {
        body: { lease_seconds: 1 },
      });
      assert.equal(badPatch.status, 400, badPatch.text);
      assert.equal((await s.request('DELETE', `/v1/annotation-queues/${q.id}`)).status, 204);
      assert.equal((await s.request('GET', `/v1/annotation-queues/${q.id}`)).status, 404);
      assert.equal((await s.request('DELETE', `/v1/annotation-queues/${q.id}`)).status, 404);
      const journal = await s.app.db.query<{ action: string }>(
        "select action from journal where target = $1 and action like 'annotation_queue.%' order by id",
        [q.id],
      );
      assert.deepEqual(
        journal.map((j) => j.action),
        ['annotation_queue.create', 'annotation_queue.update', 'annotation_queue.delete'],
      );
    });

    it('fills from a run filter once per run, and from run ids', async () => {
      const q = await queue('filled');
      const first = await fill(q.id, { runs: { agent_id: 'reviewed' } });
      assert.deepEqual(first, { added: 4, already: 0 });
      // The same filter again adds nothing: a run is in a queue once.
      assert.deepEqual(await fill(q.id, { runs: { agent_id: 'reviewed' } }), { added: 0, already: 4 });
      assert.deepEqual(await fill(q.id, { run_ids: [runs[0], runs[1]] }), { added: 0, already: 2 });
      const version = await fill(q.id, { runs: { agent_id: 'reviewed', agent_version: 999 } });
      assert.deepEqual(version, { added: 0, already: 0 });
      const text = await fill(q.id, { runs: { q: 'not this' } });
      assert.deepEqual(text, { added: 1, already: 0 });
      const items = await s.request('GET', `/v1/annotation-queues/${q.id}/items`);
      assert.equal(items.body.total, 5);
      // Oldest run first.
      assert.deepEqual(
        items.body.data.slice(0, 4).map((i: Body) => i.run_id),
        runs,
      );
      const both = await s.request('POST', `/v1/annotation-queues/${q.id}/items`, {
        body: { run_ids: [runs[0]], experiment_id: runs[0] },
      });
      assert.equal(both.status, 400, both.text);
      const missing = await s.request('POST', `/v1/annotation-queues/${q.id}/items`, {
        body: { run_ids: ['00000000-0000-7000-8000-000000000000'] },
      });
      assert.equal(missing.status, 422, missing.text);
      const noExperiment = await s.request('POST', `/v1/annotation-queues/${q.id}/items`, {
        body: { experiment_id: '00000000-0000-7000-8000-000000000000' },
      });
      assert.equal(noExperiment.status, 404, noExperiment.text);
    });

    it('hands each reviewer their own item, scores it through the score service, skips, and counts', async () => {
      const q = await queue('review');
      await fill(q.id, { run_ids: runs });
      const a = await next(q.id, alice);
      assert.equal(a.status, 200, a.text);
      const item = a.body.review;
      assert.equal(item.item.run_id, runs[0]);
      assert.equal(item.item.claimed_by, 'user:alice');
      assert.equal(item.input, 'one');
      assert.match(item.output, /one/);
      assert.equal(item.trace_url, `/v1/runs/${runs[0]}/trace`);
      assert.deepEqual(item.scores, []);
      assert.deepEqual(a.body.counts, { total: 4, pending: 3, claimed: 1, done: 0, skipped: 0 });
      // Asking again gives the item held, not another one.
      assert.equal((await next(q.id, alice)).body.review.item.id, item.item.id);
      const b = await next(q.id, bob);
      assert.equal(b.body.review.item.run_id, runs[1]);

      const submit = (itemId: string, body: unknown, as: string) =>
        s.request('POST', `/v1/annotation-queues/${q.id}/items/${itemId}/submit`, { body, key: as });
      // Bob cannot submit Alice's item.
      const stolen = await submit(
        item.item.id,
        {
          scores: [
            { config: 'quality', value: 3 },
            { config: 'ok', value: true },
          ],
        },
        bob,
      );
      assert.equal(stolen.status, 409, stolen.text);
      // Values are checked against the configs; every config of the queue needs one.
      const outOfRange = await submit(
        item.item.id,
        {
          scores: [
            { config: 'quality', value: 9 },
            { config: 'ok', value: true },
          ],
        },
        alice,
      );
      assert.equal(outOfRange.status, 400, outOfRange.text);
      const partial = await submit(item.item.id, { scores: [{ config: 'quality', value: 4 }] }, alice);
      assert.equal(partial.status, 400, partial.text);
      assert.match(partial.body.error.message, /missing ok/);
      const foreign = await submit(
        item.item.id,
        {
          scores: [
            { config: 'quality', value: 4 },
            { config: 'unused', value: true },
          ],
        },
        alice,
      );
      assert.equal(foreign.status, 400, foreign.text);
      // Nothing was written by the refused submissions (one transaction each).
      assert.deepEqual((await s.request('GET', `/v1/runs/${runs[0]}/scores`)).body.data, []);

      const done = await submit(
        item.item.id,
        {
          scores: [
            { config: 'quality', value: 4 },
            { config: 'ok', value: true },
          ],
          comment: 'fine',
        },
        alice,
      );
      assert.equal(done.status, 200, done.text);
      assert.equal(done.body.item.status, 'done');
      assert.equal(done.body.item.reviewed_by, 'user:alice');
      assert.deepEqual(
        done.body.scores.map((x: Body) => [x.name, x.value, x.label, x.source, x.created_by, x.comment]),
        [
          ['quality', 4, null, 'human', 'user:alice', 'fine'],
          ['ok', 1, 'true', 'human', 'user:alice', 'fine'],
        ],
      );
      const twice = await submit(
        item.item.id,
        {
          scores: [
            { config: 'quality', value: 4 },
            { config: 'ok', value: 1 },
          ],
        },
        alice,
      );
      assert.equal(twice.status, 409, twice.text);

      const skipped = await s.request(
        'POST',
        `/v1/annotation-queues/${q.id}/items/${b.body.review.item.id}/skip`,
        {
          key: bob,
        },
      );
      assert.equal(skipped.status, 200, skipped.text);
      assert.equal(skipped.body.status, 'skipped');

      // Alice's next item is the third run; the earlier scores of a run show on it.
      await s.request('POST', `/v1/runs/${runs[2]}/scores`, { body: { name: 'helpful', value: 0.5 } });
      const third = await next(q.id, alice);
      assert.equal(third.body.review.item.run_id, runs[2]);
      assert.deepEqual(
        third.body.review.scores.map((x: Body) => x.name),
        ['helpful'],
      );

      const progress = await s.request('GET', `/v1/annotation-queues/${q.id}/progress`, { key: reader });
      assert.equal(progress.status, 200, progress.text);
      assert.deepEqual(progress.body, {
        total: 4,
        pending: 1,
        claimed: 1,
        done: 1,
        skipped: 1,
        reviewers: [
          { reviewer: 'user:alice', done: 1, skipped: 0, claimed: 1 },
          { reviewer: 'user:bob', done: 0, skipped: 1, claimed: 0 },
        ],
      });
    });

    it('gives an expired claim to the next reviewer, and says when nothing is left', async () => {
      const q = await queue('lease', { lease_seconds: 30 });
      await fill(q.id, { run_ids: [runs[0]] });
      const held = (await next(q.id, alice)).body.review.item;
      assert.equal((await next(q.id, bob)).body.review, null);
      // Alice's claim runs out (the clock moved on: set in the store rather than waited for).
      await s.app.db.query(
        "update annotation_queue_items set claim_expires_at = now() - interval '1 second' where id = $1",
        [held.id],
      );
      const taken = await next(q.id, bob);
      assert.equal(taken.body.review.item.id, held.id);
      assert.equal(taken.body.review.item.claimed_by, 'user:bob');
      const late = await s.request('POST', `/v1/annotation-queues/${q.id}/items/${held.id}/skip`, {
        key: alice,
      });
      assert.equal(late.status, 409, late.text);
      assert.match(late.body.error.message, /claimed by another reviewer/);
    });

    it('never gives two reviewers the same item under concurrent claims', async () => {
      const q = await queue('race');
      const more: string[] = [];
      for (let i = 0; i < 6; i++) more.push(await chat(agentId, `race ${i}`));
      await fill(q.id, { run_ids: more });
      const reviewers = await Promise.all(Array.from({ length: 10 }, (_, i) => key(['write'], `user:r${i}`)));
      const answers = await Promise.all(reviewers.map((k) => next(q.id, k)));
      for (const a of answers) assert.equal(a.status, 200, a.text);
      const got = answers.map((a) => a.body.review?.item.id).filter(Boolean);
      assert.equal(got.length, 6);
      assert.equal(new Set(got).size, 6);
      const progress = (await s.request('GET', `/v1/annotation-queues/${q.id}/progress`)).body;
      assert.equal(progress.claimed, 6);
      assert.equal(progress.reviewers.length, 6);
    });

    it("fills from an experiment's items and adds an item to a dataset with a corrected expected output", async () => {
      const ds = await s.request('POST', '/v1/datasets', {
        body: { name: 'words', items: [{ input: { message: 'pear' }, expected: 'You said: pear' }] },
      });
      assert.equal(ds.status, 201, ds.text);
      const exp = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'words', agent: 'reviewed', evaluators: [{ type: 'exact_match' }] },
      });
      assert.equal(exp.status, 201, exp.text);
      await eventually(
        async () =>
          (await s.request('GET', `/v1/experiments/${exp.body.id}`)).body.status === 'running'
            ? undefined
            : true,
        60_000,
        'the experiment to finish',
      );
      const q = await queue('from experiment', { dataset: 'gold' });
      assert.deepEqual(await fill(q.id, { experiment_id: exp.body.id }), { added: 1, already: 0 });
      const review = (await next(q.id, alice)).body.review;
      assert.equal(review.expected, 'You said: pear');
      assert.equal(review.item.experiment_id, exp.body.id);

      const added = await s.request('POST', `/v1/annotation-queues/${q.id}/items/${review.item.id}/dataset`, {
        body: { expected: 'A pear, then.', tags: ['reviewed'] },
        key: alice,
      });
      assert.equal(added.status, 201, added.text);
      assert.equal(added.body.expected, 'A pear, then.');
      assert.deepEqual(added.body.input, { message: 'pear' });
      const gold = await s.request('GET', '/v1/datasets/gold/items');
      assert.equal(gold.body.data.length, 1);
      assert.equal(gold.body.data[0].id, added.body.id);
      const read = await s.request('GET', `/v1/annotation-queues/${q.id}/items/${review.item.id}`);
      assert.equal(read.body.item.dataset_item_id, added.body.id);
      // A queue without a dataset asks for one.
      const bare = await queue('no dataset');
      await fill(bare.id, { run_ids: [runs[3]] });
      const bareItem = (await next(bare.id, alice)).body.review.item;
      const refused = await s.request(
        'POST',
        `/v1/annotation-queues/${bare.id}/items/${bareItem.id}/dataset`,
        {
          body: {},
        },
      );
      assert.equal(refused.status, 400, refused.text);
    });
  });
}
