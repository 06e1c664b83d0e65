import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

const words = [
  'apple',
  'banana',
  'cherry',
  'damson',
  'elder',
  'fig',
  'grape',
  'guava',
  'kiwi',
  'lemon',
  'lime',
  'mango',
  'melon',
  'olive',
  'peach',
  'pear',
  'plum',
  'quince',
  'rowan',
  'sloe',
];

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

/**
 * A noisy judge: a score in [0, 1) drawn from the output and a seed, so two seeds score the same
 * answers like two runs of a judge that disagrees with itself; `scale` below 1 makes a worse answer.
 */
const noisy = (seed: number, scale = 1) => `
  let h = ${seed};
  for (const c of input.output) { h = Math.imul(h ^ c.charCodeAt(0), 2654435761) >>> 0; }
  h ^= h >>> 15; h = Math.imul(h, 2246822507) >>> 0; h ^= h >>> 13;
  ({ score: (((h >>> 0) % 1000) / 1000) * ${scale} })`;

/** Runs the echo agent over the fruit dataset with one javascript evaluator named `quality`. */
async function experiment(s: TestServer, code: string, extra: Body = {}): Promise<Body> {
  const created = await s.request('POST', '/v1/experiments', {
    body: {
      dataset: 'fruit20',
      agent: 'echo',
      concurrency: 2,
      evaluators: [{ type: 'javascript', name: 'quality', code }],
      ...extra,
    },
  });
  assert.equal(created.status, 201, created.text);
  return finished(s, created.body.id);
}

for (const store of stores) {
  describe(`experiment compare on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 2 } } } as never,
        // The edited agent's 20 items take 500 ms each, one at a time: the edit lands with items
        // left on a loaded machine too (at 100 ms they could all end before it).
        models: { mock: { delays: { slow: 500 } } } as never,
        tasks: { workers: 4 } as never,
      });
      await s.request('POST', '/v1/agents', { body: { name: 'echo', model: 'mock/default' } });
      const items = words.map((w) => ({ input: { message: w }, expected: `You said: ${w}` }));
      const ds = await s.request('POST', '/v1/datasets', { body: { name: 'fruit20', items } });
      assert.equal(ds.status, 201, ds.text);
    });
    after(() => s.close());

    it('counts an item whose baseline score errored as an error, never as improved', async () => {
      // The baseline's evaluator fails on two items; the candidate's scores every item 1.
      const base = await experiment(
        s,
        'if (/apple|banana/.test(input.output)) throw new Error("judge down"); 1',
      );
      const cand = await experiment(s, '1');
      const by = base.summary.evaluators[0];
      assert.deepEqual([by.mean, by.scored, by.errors], [1, 18, 2]);
      const cmp = await s.request('GET', `/v1/experiments/compare?ids=${base.id},${cand.id}`);
      assert.equal(cmp.status, 200, cmp.text);
      assert.deepEqual(cmp.body.counts[0], {
        experiment_id: cand.id,
        improved: 0,
        regressed: 0,
        unchanged: 18,
        error: 2,
      });
      const errored = await s.request(
        'GET',
        `/v1/experiments/compare?ids=${base.id},${cand.id}&change=error`,
      );
      assert.equal(errored.body.items.length, 2);
      for (const item of errored.body.items) {
        assert.equal(item.results[0].mean, null);
        assert.deepEqual(item.results[0].errors, ['quality']);
        assert.equal(item.changes[0].delta, null);
        assert.equal(item.expected, `You said: ${item.input.message}`);
        assert.deepEqual(
          item.results.map((r: Body) => r.output),
          [item.expected, item.expected],
        );
      }
    });

    it('calls no regression on noise, and calls a real one, from the paired interval', async (t) => {
      const a = await experiment(s, noisy(1));
      const b = await experiment(s, noisy(2));
      const worse = await experiment(s, noisy(2, 0.5));
      const cmp = await s.request('GET', `/v1/experiments/compare?ids=${a.id},${b.id},${worse.id}`);
      assert.equal(cmp.status, 200, cmp.text);
      const [noise, regression] = cmp.body.deltas.map((d: Body) => d.evaluators[0]);
      t.diagnostic(`noise ${JSON.stringify({ ...noise, items: cmp.body.counts[0] })}`);
      t.diagnostic(`regression ${JSON.stringify({ ...regression, items: cmp.body.counts[1] })}`);
      // Items move both ways on noise, and the interval of the mean change holds 0.
      assert.ok(cmp.body.counts[0].improved > 0 && cmp.body.counts[0].regressed > 0);
      assert.equal(noise.pairs, 20);
      assert.equal(noise.verdict, 'unchanged');
      assert.ok(noise.interval.low < 0 && noise.interval.high > 0);
      // Halving every score is a regression: the whole interval is below 0.
      assert.equal(regression.verdict, 'regressed');
      assert.ok(regression.interval.high < 0);
      assert.ok(regression.mean_delta < 0);

      // Another baseline: the same pair seen from the worse one is an improvement.
      const flipped = await s.request(
        'GET',
        `/v1/experiments/compare?ids=${a.id},${worse.id}&baseline=${worse.id}`,
      );
      assert.equal(flipped.status, 200, flipped.text);
      assert.equal(flipped.body.baseline, worse.id);
      assert.equal(flipped.body.deltas[0].experiment_id, a.id);
      assert.equal(flipped.body.deltas[0].evaluators[0].verdict, 'improved');
      const stranger = await s.request(
        'GET',
        `/v1/experiments/compare?ids=${a.id},${b.id}&baseline=${worse.id}`,
      );
      assert.equal(stranger.status, 400);
      assert.equal(stranger.body.error.code, 'validation_error');
    });

    it('pins an unpinned experiment to the version its agent had at start, edited or not', async () => {
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'edited', model: 'mock/slow' } });
      const created = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit20', agent: 'edited', concurrency: 1, evaluators: [{ type: 'exact_match' }] },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.agent_version, 1);
      await eventually(async () => {
        const e = await s.request('GET', `/v1/experiments/${created.body.id}`);
        return e.body.progress.completed >= 1 ? true : undefined;
      });
      const edit = await s.request('PATCH', `/v1/agents/${agent.body.id}`, {
        body: { system_prompt: 'Answer in French.' },
      });
      assert.equal(edit.status, 200, edit.text);
      assert.equal(edit.body.version, 2);
      const mid = await s.request('GET', `/v1/experiments/${created.body.id}`);
      assert.ok(mid.body.progress.pending > 0, 'the edit landed before the last item started');
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed');
      const items = (await s.request('GET', `/v1/experiments/${created.body.id}/items?limit=100`)).body.data;
      assert.equal(items.length, 20);
      // The edit landed while items were still waiting, and none of them ran on it.
      const versions = await Promise.all(
        items.map(async (i: Body) => (await s.request('GET', `/v1/runs/${i.run_id}`)).body.agent_version),
      );
      assert.deepEqual(new Set(versions), new Set([1]));
    });

    it("refuses a concurrency above the workers' slots, naming the limit; unasked, it fits them", async () => {
      const body = { dataset: 'fruit20', agent: 'echo', evaluators: [{ type: 'exact_match' }] };
      const over = await s.request('POST', '/v1/experiments', { body: { ...body, concurrency: 16 } });
      assert.equal(over.status, 400, over.text);
      assert.equal(over.body.error.code, 'validation_error');
      assert.match(over.body.error.message, /concurrency 16 is more than the 4 items/);
      assert.equal(over.body.error.details.limit, 4);
      const fits = await s.request('POST', '/v1/experiments', { body: { ...body, concurrency: 4 } });
      assert.equal(fits.status, 201, fits.text);
      const unasked = await s.request('POST', '/v1/experiments', { body });
      assert.equal(unasked.body.concurrency, 4);
      await finished(s, fits.body.id);
      await finished(s, unasked.body.id);
    });
  });
}
