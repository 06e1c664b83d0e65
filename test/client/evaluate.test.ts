import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AgentryClient, AgentryError, createClient } from '../../packages/client/src/index.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** The typed client's `evaluate()`: the caller's own function, run here, scored on the server. */

const words = ['apple', 'banana', 'cherry', 'damson', 'elder', 'fig'];

for (const store of stores) {
  describe(`evaluate() on ${store}`, () => {
    let s: TestServer;
    let api: AgentryClient;
    before(async () => {
      s = await startServer(store);
      api = createClient({ baseUrl: s.url, apiKey: s.adminKey });
      await api.POST('/v1/datasets', {
        body: {
          name: 'words',
          items: words.map((w) => ({ input: { message: w }, expected: w.toUpperCase() })),
        },
      });
    });
    after(() => s.close());

    it('runs a local function over the dataset with a concurrency, and the server scores each output', async () => {
      let running = 0;
      let most = 0;
      const seen: string[] = [];
      const progress: number[] = [];
      const { experiment, items } = await api.evaluate({
        dataset: 'words',
        concurrency: 3,
        evaluators: [{ type: 'exact_match' }, { type: 'contains', name: 'has_a', value: 'A' }],
        onItem: (_item, done) => progress.push(done),
        target: async (input, ctx) => {
          running++;
          most = Math.max(most, running);
          // Yield, so that the lanes overlap as a real (awaiting) target's calls would.
          await new Promise((r) => setImmediate(r));
          running--;
          const word = 'message' in input ? input.message : '';
          seen.push(word);
          if (word === 'fig') throw new RangeError('no figs here');
          ctx.setTraceId('0123456789abcdef0123456789abcdef');
          // One wrong answer: lowercase.
          return word === 'elder' ? word : word.toUpperCase();
        },
      });
      assert.equal(experiment.status, 'completed');
      assert.equal(experiment.subject, 'external');
      assert.equal(seen.length, words.length);
      assert.ok(most > 1 && most <= 3, `at most 3 at once, and more than 1: ${most}`);
      assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
      assert.equal(experiment.progress.completed, 5);
      assert.equal(experiment.progress.errors, 1);
      const exact = experiment.summary.evaluators.find((e) => e.name === 'exact_match');
      assert.equal(exact?.pass_rate, 0.8);
      const has = experiment.summary.evaluators.find((e) => e.name === 'has_a');
      // APPLE, BANANA, DAMSON hold an A; CHERRY and elder do not.
      assert.equal(has?.pass_rate, 0.6);
      const fig = items.find((i) => 'message' in i.input && i.input.message === 'fig');
      assert.deepEqual(fig?.error, { code: 'RangeError', message: 'no figs here' });
      const apple = items.find((i) => i.output === 'APPLE');
      assert.equal(apple?.trace_id, '0123456789abcdef0123456789abcdef');
      assert.ok((apple?.latency_ms ?? -1) >= 0);
      // The comparison works on it as on any experiment.
      const again = await api.evaluate({
        dataset: 'words',
        evaluators: [{ type: 'exact_match' }, { type: 'contains', name: 'has_a', value: 'A' }],
        target: (input) => ('message' in input ? input.message.toUpperCase() : ''),
      });
      const compared = await api.GET('/v1/experiments/compare', {
        params: { query: { ids: `${experiment.id},${again.experiment.id}` } },
      });
      assert.equal(compared.counts[0]?.improved, 1);
    });

    it('cancels its experiment when stopped, and a bad dataset is the server’s 404', async () => {
      const stop = new AbortController();
      await assert.rejects(
        api.evaluate({
          dataset: 'words',
          concurrency: 1,
          evaluators: [{ type: 'exact_match' }],
          signal: stop.signal,
          target: (input) => {
            stop.abort();
            return 'message' in input ? input.message : '';
          },
        }),
        (err: Error) => err.name === 'AbortError',
      );
      const listed = await api.GET('/v1/experiments', { params: { query: { status: 'cancelled' } } });
      assert.equal(listed.total, 1);
      assert.equal(listed.data[0]?.progress.completed, 1);
      assert.equal(listed.data[0]?.progress.pending, words.length - 1);

      await assert.rejects(
        api.evaluate({ dataset: 'nope', evaluators: [{ type: 'exact_match' }], target: () => '' }),
        (err: unknown) => err instanceof AgentryError && err.status === 404,
      );
    });
  });
}
