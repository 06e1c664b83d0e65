/**
 * Ingest throughput of the batch route (`POST /v1/knowledge-bases/{id}/documents` with a JSON array)
 * against one request per document, in the same run, on each store, through the real HTTP server.
 * Documents are short dialogue turns made up deterministically (two speakers, a sentence each), the
 * shape a conversation memory loads. No embedder by default (the store and the HTTP path are what
 * batching changes); `--offline` adds the offline embedder (then embedding dominates both).
 *
 *   node --import tsx bench/memory-batch.ts [--docs 788] [--batch 500] [--only pglite|postgres] [--offline]
 */
import { parseArgs } from 'node:util';
import { type StoreKind, startServer } from '../test/helpers/server.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '788' },
    batch: { type: 'string', default: '500' },
    only: { type: 'string' },
    offline: { type: 'boolean', default: false },
  },
});
const topics = ['the garden', 'a trip to Lisbon', 'the new job', 'a painting class', 'the dog', 'a concert'];
const docs = Array.from({ length: Number(args.docs) }, (_, i) => {
  const speaker = i % 2 === 0 ? 'Caroline' : 'Melanie';
  const session = Math.floor(i / 20) + 1;
  return {
    source: `D${session}:${(i % 20) + 1}`,
    content: `${speaker}: turn ${i} is about ${topics[i % topics.length]}, and what happened after session ${session}.`,
    metadata: { speaker, date: `2023-05-${String((session % 28) + 1).padStart(2, '0')}` },
  };
});
const BATCH = Number(args.batch);
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';

const rows: { store: StoreKind; single: number; batch: number }[] = [];
for (const store of ['pglite', 'postgres'] as const) {
  if (args.only && args.only !== store) continue;
  const s = await startServer(store, args.offline ? { memory: { embeddings: { provider: 'offline' } } } : {});
  try {
    const kb = async (name: string) =>
      (await s.request('POST', '/v1/knowledge-bases', { body: { name } })).body.id;
    const one = await kb('single');
    let t0 = performance.now();
    for (const d of docs) {
      const r = await s.request('POST', `/v1/knowledge-bases/${one}/documents`, { body: d });
      if (r.status !== 201) throw new Error(r.text);
    }
    const single = docs.length / ((performance.now() - t0) / 1000);
    const many = await kb('batch');
    t0 = performance.now();
    for (let i = 0; i < docs.length; i += BATCH) {
      const r = await s.request('POST', `/v1/knowledge-bases/${many}/documents`, {
        body: docs.slice(i, i + BATCH),
      });
      if (r.status !== 200 || r.body.failed > 0) throw new Error(r.text);
    }
    const batch = docs.length / ((performance.now() - t0) / 1000);
    rows.push({ store, single: Math.round(single), batch: Math.round(batch) });
  } finally {
    await s.close();
  }
}
console.log(
  `\n${docs.length} documents (LoCoMo turns), batches of ${BATCH}${args.offline ? ', offline embedder' : ', no embedder'}`,
);
console.log('store      one-per-request docs/s   batch docs/s   ratio');
for (const r of rows)
  console.log(
    `${r.store.padEnd(10)} ${String(r.single).padEnd(24)} ${String(r.batch).padEnd(14)} ${(r.batch / r.single).toFixed(1)}×`,
  );
console.log(
  JSON.stringify({ bench: 'memory-batch', docs: docs.length, batch: BATCH, offline: args.offline, rows }),
);
