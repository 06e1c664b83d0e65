import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

/** Experiments of a model with a prompt, and of the caller's own function (subject `external`). */

async function finished(s: TestServer, id: string): Promise<Body> {
  return eventually(
    async () => {
      const res = await s.request('GET', `/v1/experiments/${id}`);
      return res.body.status === 'running' ? undefined : res.body;
    },
    60_000,
    `experiment ${id} to finish`,
  );
}

const items = ['apple', 'banana', 'cherry'].map((w, i) => ({
  input: { task_type: 'qa', payload: { question: w } },
  // The last expects what neither the prompt nor the function answers.
  expected: i === 2 ? 'plum' : `You said: Q: ${w}`,
}));

for (const store of stores) {
  describe(`experiment subjects on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 2 } as never });
      const ds = await s.request('POST', '/v1/datasets', { body: { name: 'questions', items } });
      assert.equal(ds.status, 201, ds.text);
    });
    after(() => s.close());

    it('runs a model with a prompt: the template filled from each input, one billed and traced call per item', async () => {
      const created = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'questions',
          prompt: {
            model: 'mock/default',
            system: 'Answer in one word.',
            template: 'Q: {{input.payload.question}}',
            temperature: 0,
            max_tokens: 50,
          },
          evaluators: [{ type: 'exact_match' }],
          concurrency: 2,
        },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.subject, 'prompt');
      assert.equal(created.body.agent_id, null);
      assert.equal(created.body.prompt.template, 'Q: {{input.payload.question}}');
      assert.equal(created.body.name, 'mock/default on questions');
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.summary.evaluators[0].pass_rate, 0.6667);
      assert.ok(done.summary.tokens > 0);
      const listed = await s.request('GET', `/v1/experiments/${created.body.id}/items`);
      const first = listed.body.data[0];
      assert.equal(first.output, 'You said: Q: apple');
      assert.equal(first.run_id, null);
      assert.match(first.trace_id, /^[0-9a-f]{32}$/);
      // Billed as any gateway call, under the experiment's name.
      const usage = await s.request(
        'GET',
        `/v1/usage?agent=${encodeURIComponent(`experiment:${created.body.id}`)}`,
      );
      assert.equal(usage.status, 200, usage.text);
      assert.equal(
        usage.body.data.reduce((n: number, r: Body) => n + r.requests, 0),
        3,
        usage.text,
      );
    });

    it('scores a prompt item the scripted model fails as an error, like a failed run', async () => {
      s.app.services.models.mock.script('scripted', [
        { content: 'You said: Q: apple' },
        { error: { status: 400, message: 'refused by the scripted model' } },
        { content: 'plum' },
      ]);
      const created = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'questions',
          prompt: { model: 'mock/scripted', template: 'Q: {{input.payload.question}}' },
          evaluators: [{ type: 'exact_match' }],
          concurrency: 1,
        },
      });
      assert.equal(created.status, 201, created.text);
      const done = await finished(s, created.body.id);
      assert.equal(done.progress.completed, 2, JSON.stringify(done));
      assert.equal(done.progress.errors, 1);
      const listed = await s.request('GET', `/v1/experiments/${created.body.id}/items?status=error`);
      assert.match(listed.body.data[0].error.message, /refused by the scripted model/);
    });

    it('refuses a prompt naming a model the gateway does not serve, and a body naming two subjects', async () => {
      const unknown = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'questions',
          prompt: { model: 'nowhere/model', template: '{{input.message}}' },
          evaluators: [{ type: 'exact_match' }],
        },
      });
      assert.equal(unknown.status, 404, unknown.text);
      assert.equal(unknown.body.error.code, 'not_found');
      const two = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'questions',
          subject: 'external',
          prompt: { model: 'mock/default', template: 'x' },
          evaluators: [{ type: 'exact_match' }],
        },
      });
      assert.equal(two.status, 400, two.text);
      assert.equal(two.body.error.code, 'validation_error');
    });

    it('takes the outputs of the caller’s function, scores them, and completes with the last', async () => {
      const created = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'questions',
          subject: 'external',
          evaluators: [{ type: 'exact_match' }, { type: 'latency_under', max: 1000 }],
        },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.subject, 'external');
      assert.equal(created.body.name, 'function on questions');
      const id = created.body.id;
      const listed = (await s.request('GET', `/v1/experiments/${id}/items`)).body.data as Body[];
      // Nothing runs them on the server: every item waits for its output.
      assert.deepEqual(
        listed.map((i) => i.status),
        ['pending', 'pending', 'pending'],
      );
      const report = (itemId: string, body: Body) =>
        s.request('POST', `/v1/experiments/${id}/items/${itemId}/output`, { body });
      const [a, b, c] = listed as [Body, Body, Body];

      const first = await report(a.id, {
        output: 'You said: Q: apple',
        latency_ms: 12,
        trace_id: 'a'.repeat(32),
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.status, 'completed');
      assert.deepEqual(
        first.body.scores.map((x: Body) => x.pass),
        [true, true],
      );
      assert.equal(first.body.trace_id, 'a'.repeat(32));
      // The first report wins: a repeat is answered with the item as recorded, not scored again.
      const again = await report(a.id, { output: 'something else', latency_ms: 5 });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.output, 'You said: Q: apple');

      const bad = await report(b.id, { output: 'x', latency_ms: -1 });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error.code, 'validation_error');
      const stranger = await report('0190f0f0-0000-7000-8000-000000000000', { output: 'x', latency_ms: 1 });
      assert.equal(stranger.status, 404, stranger.text);

      const thrown = await report(b.id, { error: { message: 'TypeError: boom' }, latency_ms: 3 });
      assert.equal(thrown.body.status, 'error');
      assert.equal(thrown.body.error.code, 'target_error');
      const last = await report(c.id, { output: 'You said: Q: cherry', latency_ms: 2000 });
      assert.equal(last.body.status, 'completed');

      const done = await s.request('GET', `/v1/experiments/${id}`);
      assert.equal(done.body.status, 'completed');
      assert.equal(done.body.progress.errors, 1);
      const byName = Object.fromEntries(done.body.summary.evaluators.map((e: Body) => [e.name, e]));
      assert.equal(byName.exact_match.pass_rate, 0.5);
      assert.equal(byName.latency_under.pass_rate, 0.5);
      const events = await s.request('GET', `/v1/experiments/${id}/events`);
      assert.deepEqual(
        events.body.data.map((e: Body) => e.type),
        ['experiment.item', 'experiment.item', 'experiment.item', 'experiment.completed'],
      );
      // After the end: 409, even for an item never reported twice.
      const late = await report(c.id, { output: 'x', latency_ms: 1 });
      assert.equal(late.status, 409, late.text);
      assert.equal(late.body.error.code, 'conflict');
    });

    it('refuses outputs for an experiment that runs its subject itself, and after a cancel', async () => {
      const prompt = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'questions',
          prompt: { model: 'mock/default', template: '{{input.payload.question}}' },
          evaluators: [{ type: 'exact_match' }],
        },
      });
      const itemId = (await s.request('GET', `/v1/experiments/${prompt.body.id}/items`)).body.data[0].id;
      const refused = await s.request('POST', `/v1/experiments/${prompt.body.id}/items/${itemId}/output`, {
        body: { output: 'x', latency_ms: 1 },
      });
      assert.equal(refused.status, 409, refused.text);
      await finished(s, prompt.body.id);

      const external = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'questions', subject: 'external', evaluators: [{ type: 'exact_match' }] },
      });
      const pending = (await s.request('GET', `/v1/experiments/${external.body.id}/items`)).body.data[0];
      const cancelled = await s.request('POST', `/v1/experiments/${external.body.id}/cancel`);
      assert.equal(cancelled.status, 200, cancelled.text);
      assert.equal(cancelled.body.progress.pending, 3);
      const late = await s.request('POST', `/v1/experiments/${external.body.id}/items/${pending.id}/output`, {
        body: { output: 'x', latency_ms: 1 },
      });
      assert.equal(late.status, 409, late.text);
      // Resumed, it takes outputs again (nothing runs on the server).
      const resumed = await s.request('POST', `/v1/experiments/${external.body.id}/resume`);
      assert.equal(resumed.status, 200, resumed.text);
      const taken = await s.request(
        'POST',
        `/v1/experiments/${external.body.id}/items/${pending.id}/output`,
        {
          body: { output: 'x', latency_ms: 1 },
        },
      );
      assert.equal(taken.status, 200, taken.text);
      assert.equal(taken.body.status, 'completed');
    });
  });
}
