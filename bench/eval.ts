/**
 * An experiment's throughput against its floor: N dataset items run by an experiment (lanes on the
 * task queue, each item a run of the agent scored by three cheap evaluators: exact match, contains,
 * regex) against the same N chats sent straight to the chat API (`POST /v1/agents/{id}/chat`,
 * `stream: false`) with the same concurrency. Mock model at zero delay, so all of it is Agentry's
 * own work. The server is a forked child (its CPU is not the client's), on PGlite and (with
 * DATABASE_URL) PostgreSQL. The experiment is timed from its POST to the end of its event stream
 * (`GET /v1/experiments/{id}/stream`). Rounds alternate chats and experiment, so drift hits both.
 * Prints items/s of each and the ratio (target ≥ 0.8×), and a JSON line.
 *
 *   npm run bench:eval -- [--items 1000] [--concurrency 8] [--rounds 2] [--quick: 200 items, 1 round]
 */
import { parseArgs } from 'node:util';
import { forkChild, r3, serveBenchApp } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    serve: { type: 'string' },
  },
});
const items = values.quick ? 200 : Number(values.items);
const concurrency = Number(values.concurrency);
const rounds = values.quick ? 1 : Number(values.rounds);

if (values.serve) {
  // The lanes are queue tasks: one worker per lane, as a server sized for this concurrency runs.
  await serveBenchApp(values.serve as 'pglite' | 'postgres', { tasks: { workers: concurrency } });
} else {
  await main();
}

async function main() {
  const stores: Array<'pglite' | 'postgres'> = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
  const rows: Array<Record<string, string | number>> = [];
  for (const store of stores) rows.push(await measure(store));
  console.table(rows);
  console.log(
    JSON.stringify({
      bench: 'eval',
      ratios: Object.fromEntries(rows.map((r) => [`experiment_vs_chats_${r.store}`, r.ratio])),
      figures: Object.fromEntries(
        rows.flatMap((r) => [
          [`chats_per_s_${r.store}`, r.chats_per_s],
          [`experiment_items_per_s_${r.store}`, r.experiment_items_per_s],
        ]),
      ),
    }),
  );
}

async function measure(store: 'pglite' | 'postgres') {
  const { child, url, key } = await forkChild<{ url: string; key: string }>(import.meta.url, [
    '--serve',
    store,
  ]);
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    const agent = await api('POST', '/v1/agents', { name: 'bench-eval', model: 'mock/default' });
    const words = Array.from({ length: items }, (_, i) => `item${i}`);
    const dataset = (name: string, ws: string[]) =>
      api('POST', '/v1/datasets', {
        name,
        items: ws.map((w) => ({ input: { message: w }, expected: `You said: ${w}` })),
      });
    await dataset('bench', words);
    await dataset('warm-up', words.slice(0, 50));
    const evaluators = [
      { type: 'exact_match' },
      { type: 'contains', value: 'said' },
      { type: 'regex', pattern: '^You said: item\\d+$' },
    ];

    const chats = async (n: number) => {
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) {
            const i = next++;
            const r = await api('POST', `/v1/agents/${agent.id}/chat`, { message: words[i], stream: false });
            if (r.status !== 'success') throw new Error(`chat ${r.status}`);
          }
        }),
      );
      return n / ((performance.now() - t0) / 1000);
    };
    const experiment = async (dataset = 'bench') => {
      const t0 = performance.now();
      const e = await api('POST', '/v1/experiments', {
        dataset,
        agent: agent.id,
        evaluators,
        concurrency,
      });
      // The stream ends once the experiment has: its last frame is the summary.
      const res = await fetch(`${url}/v1/experiments/${e.id}/stream`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const text = await res.text();
      const seconds = (performance.now() - t0) / 1000;
      const done = await api('GET', `/v1/experiments/${e.id}`);
      if (
        done.status !== 'completed' ||
        done.progress.completed !== done.progress.total ||
        !text.includes('experiment.summary')
      )
        throw new Error(`experiment ended ${done.status}: ${JSON.stringify(done.progress)}`);
      if (done.summary.pass_rate !== 1) throw new Error(`experiment pass rate ${done.summary.pass_rate}`);
      return done.progress.total / seconds;
    };

    // Warm both paths (JIT, prepared statements, the agent cache) before timing.
    await chats(Math.min(50, items));
    await experiment('warm-up');
    const best = { chats: 0, experiment: 0 };
    for (let r = 0; r < rounds; r++) {
      best.chats = Math.max(best.chats, await chats(items));
      best.experiment = Math.max(best.experiment, await experiment());
    }
    return {
      store,
      items,
      concurrency,
      chats_per_s: r3(best.chats),
      experiment_items_per_s: r3(best.experiment),
      ratio: r3(best.experiment / best.chats),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}
