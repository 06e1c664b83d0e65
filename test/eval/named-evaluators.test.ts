/**
 * Named evaluators: a tenant names an evaluator spec, each change makes an immutable version, and
 * `{"ref": "name"}` / `{"ref": "name@3"}` picks it in experiments (the version pinned and recorded
 * as the experiment starts), agents' live evaluators (following the newest) and release gates (which
 * then count only the score the named evaluator gave). Deleting one is refused while live
 * evaluators or a gate refer to it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

const items = ['hello there', 'good morning'].map((m) => ({
  input: { message: m },
  expected: `You said: ${m}`,
}));

for (const store of stores) {
  describe(`named evaluators on ${store}`, () => {
    let s: TestServer;
    let readKey: string;
    let other: string;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 2 } as never });
      const agent = await s.request('POST', '/v1/agents', {
        body: { name: 'echo', model: 'mock/default', system_prompt: 'You help.' },
      });
      assert.equal(agent.status, 201, agent.text);
      assert.equal(
        (await s.request('POST', '/v1/datasets', { body: { name: 'greetings', items } })).status,
        201,
      );
      readKey = (await s.request('POST', '/v1/keys', { body: { scopes: ['read'] } })).body.secret;
      other = (await createTenant(s, 'named-other')).adminKey;
    });
    after(() => s.close());

    const create = (body: unknown, key?: string) =>
      s.request('POST', '/v1/evaluators', { body, ...(key && { key }) });
    const experiment = async (evaluators: unknown[]) => {
      const made = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'greetings', agent: 'echo', evaluators, concurrency: 1 },
      });
      assert.equal(made.status, 201, made.text);
      const done = await eventually(
        async () => {
          const e = (await s.request('GET', `/v1/experiments/${made.body.id}`)).body;
          return e.status === 'running' ? undefined : e;
        },
        60_000,
        'the experiment to finish',
      );
      assert.equal(done.status, 'completed');
      return { made: made.body as Body, done: done as Body };
    };

    it('names an evaluator, versions every change, keeps old versions as written', async () => {
      const made = await create({
        name: 'says-you',
        description: 'the answer speaks to the user',
        spec: { type: 'contains', value: 'You' },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.version, 1);
      assert.deepEqual(made.body.spec, { type: 'contains', value: 'You' });

      assert.equal((await create({ name: 'says-you', spec: { type: 'json_valid' } })).status, 409);
      const bad = await create({ name: 'broken', spec: { type: 'regex', pattern: '(?<=a)b' } });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error.code, 'validation_error');
      assert.equal((await create({ name: 'kinds', spec: { type: 'json_valid' } })).status, 400);
      assert.equal((await create({ name: 'Upper Case', spec: { type: 'json_valid' } })).status, 400);
      assert.equal((await create({ name: 'ro', spec: { type: 'json_valid' } }, readKey)).status, 403);

      const patched = await s.request('PATCH', '/v1/evaluators/says-you', {
        body: { spec: { type: 'contains', value: 'said' }, message: 'stricter' },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.version, 2);
      assert.equal(patched.body.description, 'the answer speaks to the user', 'carried over');
      const put = await s.request('PUT', `/v1/evaluators/${made.body.id}`, {
        body: { spec: { type: 'contains', value: ['You', 'said'] } },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.version, 3);
      assert.equal(put.body.description, '', 'PUT is the whole of the next version');
      assert.equal((await s.request('PATCH', '/v1/evaluators/says-you', { body: {} })).status, 400);

      const versions = await s.request('GET', '/v1/evaluators/says-you/versions');
      assert.deepEqual(
        versions.body.data.map((v: Body) => v.version),
        [3, 2, 1],
      );
      const first = await s.request('GET', '/v1/evaluators/says-you/versions/1');
      assert.deepEqual(first.body.spec, { type: 'contains', value: 'You' });
      assert.equal((await s.request('GET', '/v1/evaluators/says-you/versions/2')).body.message, 'stricter');
      const none = await s.request('GET', '/v1/evaluators/says-you/versions/9');
      assert.equal(none.status, 404, none.text);

      const list = await s.request('GET', '/v1/evaluators?type=contains');
      assert.deepEqual(
        list.body.data.map((e: Body) => [e.name, e.version]),
        [['says-you', 3]],
      );
      assert.equal((await s.request('GET', '/v1/evaluators/says-you', { key: other })).status, 404);
      assert.equal((await s.request('GET', '/v1/evaluators', { key: other })).body.total, 0);
      const journal = (await s.request('GET', '/v1/journal?action=evaluator.update')).body.data as Body[];
      assert.deepEqual(journal.map((j) => j.data.to).sort(), [2, 3]);
    });

    it('lists the kinds at /v1/evaluators/kinds, the pairwise judge and embedding similarity among them', async () => {
      const kinds = await s.request('GET', '/v1/evaluators/kinds');
      assert.equal(kinds.status, 200, kinds.text);
      const types = kinds.body.data.map((k: Body) => k.type);
      for (const t of ['pairwise_judge', 'embedding_similarity', 'llm_judge'])
        assert.ok(types.includes(t), t);
    });

    it('pins the version an experiment starts with and records it with each spec', async () => {
      const unknown = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'greetings', agent: 'echo', evaluators: [{ ref: 'no-such' }] },
      });
      assert.equal(unknown.status, 404, unknown.text);
      const past = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'greetings', agent: 'echo', evaluators: [{ ref: 'says-you@7' }] },
      });
      assert.equal(past.status, 404, past.text);
      const twice = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'greetings',
          agent: 'echo',
          evaluators: [{ ref: 'says-you' }, { ref: 'says-you@1' }],
        },
      });
      assert.equal(twice.status, 400, 'two scores of one name');

      const { made, done } = await experiment([
        { ref: 'says-you' },
        { ref: 'says-you@2', name: 'said' },
        { type: 'exact_match' },
      ]);
      const [latest, pinned, inline] = made.evaluators as Body[];
      assert.equal(latest!.name, 'says-you');
      assert.deepEqual(latest!.value, ['You', 'said']);
      assert.equal(latest!.ref.version, 3);
      assert.equal(latest!.ref.name, 'says-you');
      assert.equal(pinned!.name, 'said');
      assert.deepEqual(pinned!.ref, { ...latest!.ref, version: 2 });
      assert.equal(inline!.ref, undefined);
      const means = Object.fromEntries(done.summary.evaluators.map((e: Body) => [e.name, e.mean]));
      assert.deepEqual(means, { 'says-you': 1, said: 1, exact_match: 1 });

      // A later version changes nothing the experiment recorded.
      await s.request('PATCH', '/v1/evaluators/says-you', { body: { spec: { type: 'json_valid' } } });
      const again = (await s.request('GET', `/v1/experiments/${made.id}`)).body;
      assert.equal(again.evaluators[0].ref.version, 3);
      assert.equal(again.evaluators[0].type, 'contains');
    });

    it("a pairwise judge compares each item with the baseline experiment's output for it", async () => {
      const judge = await create({
        name: 'prefers',
        spec: { type: 'pairwise_judge', model: 'mock/judge', rubric: 'Which answer repeats the message?' },
      });
      assert.equal(judge.status, 201, judge.text);
      const unknown = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'greetings',
          agent: 'echo',
          evaluators: [{ ref: 'prefers' }],
          baseline_experiment: '01900000-0000-7000-8000-000000000000',
        },
      });
      assert.equal(unknown.status, 404, unknown.text);
      const { made: base } = await experiment([{ type: 'exact_match' }]);
      const made = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'greetings',
          agent: 'echo',
          evaluators: [{ ref: 'prefers' }],
          baseline_experiment: base.id,
        },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.baseline_experiment_id, base.id);
      const done = await eventually(
        async () => {
          const e = (await s.request('GET', `/v1/experiments/${made.body.id}`)).body;
          return e.status === 'running' ? undefined : e;
        },
        60_000,
        'the pairwise experiment to finish',
      );
      // The same agent on the same items: every item a tie, scored (no errors), passing at 0.5.
      const [summary] = done.summary.evaluators as Body[];
      assert.deepEqual(
        { name: summary!.name, mean: summary!.mean, errors: summary!.errors, scored: summary!.scored },
        { name: 'prefers', mean: 0.5, errors: 0, scored: 2 },
      );
      // Without a baseline the judge has nothing to compare with: an error on that score.
      const { done: alone } = await experiment([{ ref: 'prefers' }]);
      assert.equal(alone.summary.evaluators[0].errors, 2);
    });

    it('live evaluators follow the newest version; delete is refused while they or a gate refer to it', async () => {
      const made = await create({ name: 'tone', spec: { type: 'contains', value: 'You' } });
      assert.equal(made.status, 201, made.text);
      const missing = await s.request('PUT', '/v1/agents/echo/evaluators', {
        body: { evaluators: [{ ref: 'nope' }], sample_rate: 1 },
      });
      assert.equal(missing.status, 404, missing.text);
      const attached = await s.request('PUT', '/v1/agents/echo/evaluators', {
        body: { evaluators: [{ ref: 'tone' }], sample_rate: 1 },
      });
      assert.equal(attached.status, 200, attached.text);
      const chat = await s.request('POST', '/v1/agents/echo/chat', {
        body: { message: 'hi', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      const runId = chat.body.run_id as string;
      const scores = await eventually(
        async () => {
          const r = (await s.request('GET', `/v1/runs/${runId}/scores`)).body.data as Body[];
          return r.length > 0 ? r : undefined;
        },
        30_000,
        'the live score',
      );
      assert.equal(scores[0]!.name, 'tone');
      assert.equal(scores[0]!.value, 1);

      const refused = await s.request('DELETE', '/v1/evaluators/tone');
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.body.error.message, /agent echo \(scores its live runs\)/);
      assert.equal((await s.request('DELETE', '/v1/agents/echo/evaluators')).status, 204);

      const gate = await s.request('PUT', '/v1/agents/echo/labels/production/gate', {
        body: { dataset: 'greetings', evaluator: { ref: 'tone' }, threshold: 0.5 },
      });
      assert.equal(gate.status, 200, gate.text);
      assert.deepEqual(gate.body.gate.evaluator_ref, { id: made.body.id, name: 'tone', version: null });
      const byGate = await s.request('DELETE', '/v1/evaluators/tone');
      assert.equal(byGate.status, 409, byGate.text);
      assert.match(byGate.body.error.message, /gate of label production/);

      // The gate counts only the named evaluator's score: a look-alike inline spec does not pass it.
      const { done: lookalike } = await experiment([{ type: 'contains', name: 'tone', value: 'You' }]);
      const refusedMove = await s.request('PUT', '/v1/agents/echo/labels/production', {
        body: { version: 1 },
      });
      assert.equal(refusedMove.status, 409, refusedMove.text);
      assert.equal(refusedMove.body.error.details.experiment.id, lookalike.id);
      assert.match(refusedMove.body.error.details.failures[0], /did not score with the named evaluator tone/);
      await experiment([{ ref: 'tone' }]);
      const moved = await s.request('PUT', '/v1/agents/echo/labels/production', { body: { version: 1 } });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.evidence.passed, true);
      assert.equal(moved.body.evidence.score.of, 'tone');

      assert.equal((await s.request('DELETE', '/v1/agents/echo/labels/production/gate')).status, 204);
      const deleted = await s.request('DELETE', '/v1/evaluators/tone');
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal((await s.request('GET', '/v1/evaluators/tone')).status, 404);
      const byId = await s.request('GET', `/v1/evaluators/${made.body.id}`);
      assert.ok(byId.body.deleted_at, 'its versions stay readable by id');
      assert.equal(
        (await create({ name: 'tone', spec: { type: 'json_valid' } })).status,
        201,
        'the name is free',
      );
      const journal = (await s.request('GET', '/v1/journal?action=evaluator.delete')).body.data as Body[];
      assert.equal(journal[0]!.target, made.body.id);
    });
  });
}
