/**
 * `evaluate()` of the typed client over 200 items against a local function, against its floor: the
 * same 200 calls of the bare function with the same concurrency. The function waits 5 ms (a stand-in
 * for a fast app), so the floor is about items × 5 ms / concurrency. What `evaluate()` adds beyond it
 * is the server's work per item: creating the experiment and copying the items, reading them, and
 * per item one report (claim, score with exact match and contains, record with its progress event).
 * The server is a forked child (its CPU is not the client's), on PGlite and (with DATABASE_URL)
 * PostgreSQL. Prints wall times, the server's added ms per item, and a JSON line.
 *
 *   node --import tsx bench/evaluate-function.ts -- [--items 200] [--concurrency 8] [--delay-ms 5]
 */
import { parseArgs } from 'node:util';
import { createClient } from '../packages/client/src/index.ts';
import { forkChild, r3, serveBenchApp } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    'delay-ms': { type: 'string', default: '5' },
    serve: { type: 'string' },
  },
});
const items = Number(values.items);
const concurrency = Number(values.concurrency);
const delayMs = Number(values['delay-ms']);

if (values.serve) {
  await serveBenchApp(values.serve as 'pglite' | 'postgres', {});
} else {
  const stores: Array<'pglite' | 'postgres'> = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
  const rows: Array<Record<string, string | number>> = [];
  for (const store of stores) rows.push(await measure(store));
  console.table(rows);
  console.log(
    JSON.stringify({
      bench: 'evaluate-function',
      figures: Object.fromEntries(
        rows.flatMap((r) => [
          [`evaluate_wall_s_${r.store}`, r.evaluate_s],
          [`floor_wall_s_${r.store}`, r.floor_s],
          [`server_ms_per_item_${r.store}`, r.added_ms_per_item],
        ]),
      ),
    }),
  );
}

/** The app under test: echoes the question in capitals after `delayMs`. */
async function target(input: { message: string } | { task_type: string }): Promise<string> {
  await new Promise((r) => setTimeout(r, delayMs));
  return 'message' in input ? input.message.toUpperCase() : '';
}

async function floor(inputs: Array<{ message: string }>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < inputs.length) await target(inputs[next++]!);
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function measure(store: 'pglite' | 'postgres') {
  const { child, url, key } = await forkChild<{ url: string; key: string }>(import.meta.url, [
    '--serve',
    store,
  ]);
  try {
    const api = createClient({ baseUrl: url, apiKey: key });
    const inputs = Array.from({ length: items }, (_, i) => ({ message: `question ${i}` }));
    await api.POST('/v1/datasets', {
      body: {
        name: 'bench',
        items: inputs.map((input) => ({ input, expected: input.message.toUpperCase() })),
      },
    });
    const evaluators = [{ type: 'exact_match' as const }, { type: 'contains' as const, value: 'QUESTION' }];
    const run = async () => {
      const t0 = performance.now();
      const { experiment } = await api.evaluate({ dataset: 'bench', target, evaluators, concurrency });
      if (experiment.status !== 'completed' || experiment.summary.pass_rate !== 1)
        throw new Error(`evaluate ended ${experiment.status}, pass rate ${experiment.summary.pass_rate}`);
      return (performance.now() - t0) / 1000;
    };
    // Warm-up of both (JIT, the store's caches), then the measured pair.
    await floor(inputs.slice(0, 50));
    await run();
    const floorS = await floor(inputs);
    const evaluateS = await run();
    return {
      store,
      items,
      concurrency,
      delay_ms: delayMs,
      floor_s: r3(floorS),
      evaluate_s: r3(evaluateS),
      // Wall time beyond the bare calls, per item; with `concurrency` reports in flight, the
      // server's time per report is about this × concurrency.
      added_ms_per_item: r3(((evaluateS - floorS) * 1000) / items),
      ratio: r3(evaluateS / floorS),
    };
  } finally {
    child.kill();
  }
}
