/**
 * Knowledge-base memory against its floors in the same run:
 *  - `search` (default): ingest chunks/s and full-text, vector and hybrid search p50/p99 on PGlite
 *    (pgvector HNSW) and PostgreSQL (GIN + exact in-process scan), against the same searches with
 *    their index off; HNSW recall@10. Target: hybrid p50 at 100k chunks ≤ 20 ms (PostgreSQL), ≤ 10 ms
 *    (PGlite). Synthetic text and clustered 512-d vectors, so it measures the store, not a model.
 *  - `batch`: documents/s through HTTP, batches of --batch against one request per document.
 *
 *   node --import tsx bench/memory.ts [--quick] [--mode search|batch] [--sizes 10000,100000] [--queries 200]
 *     [--only pglite|postgres] [--docs 788] [--batch 500]      DATABASE_URL for the PostgreSQL rows
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Db, Queryable } from '../src/db/db.ts';
import { newId } from '../src/db/ids.ts';
import { migrate } from '../src/db/migrate.ts';
import { PgliteDb } from '../src/db/pglite.ts';
import { PostgresDb } from '../src/db/postgres.ts';
import { type Embedder, normalise } from '../src/memory/embeddings.ts';
import { Memory } from '../src/memory/memory.ts';
import type { SearchInput } from '../src/memory/schema.ts';
import { freshDatabase, startServer } from '../test/helpers/server.ts';
import { p50p99, timeEach } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'search' },
    sizes: { type: 'string' },
    queries: { type: 'string' },
    only: { type: 'string' },
    docs: { type: 'string', default: '788' },
    batch: { type: 'string', default: '500' },
  },
});
const SIZES = (args.sizes ?? (args.quick ? '2000' : '10000,100000')).split(',').map(Number);
const QUERIES = Number(args.queries ?? (args.quick ? 50 : 200));
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
const DIMS = 512;
const SECTIONS = 20;
const kinds = (['pglite', 'postgres'] as const).filter((k) => !args.only || args.only === k);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const syllables = 'ka lo mi ten ra vus po del shi gar nu bex ol tri fen qua'.split(' ');
const vocabulary = Array.from({ length: 20_000 }, (_, i) => {
  let w = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / syllables.length)) w += syllables[n % syllables.length];
  return `${w}${syllables[i % 7]}`;
});
/** Zipf(1): rank r drawn with probability ∝ 1/r, like words in real text. */
const zipfWord = () => vocabulary[Math.floor(Math.exp(rand() * Math.log(vocabulary.length))) - 1]!;
const syntheticDoc = (i: number) =>
  Array.from(
    { length: SECTIONS },
    (_, s) => `## Section ${i}-${s}\n\n${Array.from({ length: 120 }, zipfWord).join(' ')}.`,
  ).join('\n\n');

function* noise(seed: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (s * 1664525 + 1013904223) >>> 0;
    yield s / 0xffffffff - 0.5;
  }
}
/**
 * Clustered vectors, as text embeddings are: 1,000 topic centres plus noise of about the centre's
 * length (members at cosine ~0.5), so a query lands among one topic's chunks.
 */
const centres = Array.from({ length: 1000 }, (_, c) => {
  const g = noise(c * 7919 + 1);
  return normalise(Array.from({ length: DIMS }, () => g.next().value as number));
});
const clustered = (seed: number, centre: number) => {
  const g = noise(seed);
  return centres[centre % 1000]!.map((x) => x + (g.next().value as number) / Math.sqrt(DIMS / 12));
};
class SyntheticEmbedder implements Embedder {
  readonly id = 'synthetic-clustered:512';
  async embed(texts: readonly string[]): Promise<number[][]> {
    return texts.map((t) => {
      const h = createHash('sha256').update(t).digest();
      return clustered(h.readUInt32LE(0), h.readUInt32LE(4));
    });
  }
}

async function search(kind: 'pglite' | 'postgres', size: number) {
  const fresh = kind === 'postgres' ? await freshDatabase() : undefined;
  // As a server configured for a large knowledge base (`store.pglite_shared_buffers_mb`): at 100k
  // chunks the HNSW index, table and GIN index (~420 MB) stay cached.
  const db: Db = fresh
    ? await PostgresDb.open(fresh.url, { max: 4 })
    : await PgliteDb.open('memory://', { sharedBuffersMb: 512 });
  try {
    await migrate(db);
    const tenantId = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, `b-${tenantId.slice(-6)}`]);
    const [who, ctx] = [
      { tenantId, actor: 'system' },
      { tenantId, tenantName: 'bench' },
    ];
    const memory = await Memory.open(db, {
      chunking: { maxChars: 1200, overlapChars: 200 },
      maxDocumentBytes: 20 * 1024 * 1024,
      vectorCacheChunks: 1_000_000,
      embedder: new SyntheticEmbedder(),
    });
    const kb = await memory.knowledgeBases.create(
      tenantId,
      { name: 'b', kind: 'domain', description: '', metadata: {} },
      who,
    );
    const docs = Math.ceil(size / SECTIONS);
    const texts = Array.from({ length: docs }, (_, i) => syntheticDoc(i));
    const t0 = performance.now();
    for (const [i, text] of texts.entries()) {
      const doc = { source: `doc-${i}.md`, bytes: Buffer.from(text), metadata: {} };
      await memory.ingest(tenantId, kb.id, doc, ctx, who);
    }
    await memory.vectors.ready(DIMS);
    const ingest = Math.round((docs * SECTIONS) / ((performance.now() - t0) / 1000));
    await db.exec('analyze chunks');
    // 3 to 5 words of a random section, so each query has a true best match.
    const query = () => {
      const text = texts[Math.floor(rand() * Math.min(200, docs))]!;
      const words = text.split(/\s+/).filter((w) => /^[a-z]{6,}$/.test(w));
      const pick = () => words[Math.floor(rand() * words.length)]!;
      return Array.from({ length: 3 + Math.floor(rand() * 3) }, pick).join(' ');
    };
    const queries = Array.from({ length: QUERIES }, query);
    const find = (mode: SearchInput['mode'], q: string) =>
      memory.search(tenantId, kb.id, { query: q, top_k: 10, mode, filters: {} }, ctx);
    const modes = ['text', 'vector', 'hybrid'] as const;
    for (const mode of modes) for (let i = 0; i < 50; i++) await find(mode, query());
    const timed = {} as Record<(typeof modes)[number], { p50: number; p99: number }>;
    for (const mode of modes) timed[mode] = p50p99(await timeEach(QUERIES, (i) => find(mode, queries[i]!)));
    // The floors: the same searches with their index switched off.
    const noIndex = (sql: string, params: unknown[], off = 'set local enable_indexscan = off') =>
      db.transaction(async (tx: Queryable) => {
        await tx.exec(off);
        return tx.query<{ id: string }>(sql, params);
      });
    const peerN = Math.max(3, Math.min(QUERIES, size >= 100_000 ? 5 : 20));
    const embedder = new SyntheticEmbedder();
    const vecs = await Promise.all(
      queries.slice(0, 20).map(async (q) => normalise((await embedder.embed([q]))[0]!)),
    );
    const exactSql = (limit: number) =>
      `select id from chunks where embedding_dims = ${DIMS} and knowledge_base_id = $2
        order by embedding_vec::vector(${DIMS}) <=> $1::vector(${DIMS}) limit ${limit}`;
    let recall = 1; // the exact scan on PostgreSQL finds the true top 10
    let vectorPeer: number[];
    if (kind === 'pglite') {
      vectorPeer = await timeEach(peerN, (i) => noIndex(exactSql(50), [`[${vecs[i]!.join(',')}]`, kb.id]));
      let found = 0;
      for (const v of vecs) {
        const approx = await memory.vectors.search({
          tenantId,
          kbId: kb.id,
          revision: 0,
          vector: v,
          limit: 50,
        });
        const top = new Set(approx.slice(0, 10).map((h) => h.chunkId));
        const exact = await noIndex(exactSql(10), [`[${v.join(',')}]`, kb.id]);
        found += exact.filter((r) => top.has(r.id)).length;
      }
      recall = found / (vecs.length * 10);
    } else {
      const sql = `select id from chunks c where knowledge_base_id = $2 and embedding_dims = ${DIMS}
        order by (select sum(a * b) from unnest(c.embedding, $1::real[]) as t(a, b)) desc limit 50`;
      vectorPeer = await timeEach(peerN, (i) => db.query(sql, [vecs[i], kb.id]));
    }
    const textSql = `with q as (select replace(websearch_to_tsquery('english', $1)::text, '&', '|')::tsquery as q)
      select c.id from chunks c, q where c.tsv @@ q.q and c.knowledge_base_id = $2 order by ts_rank(c.tsv, q.q) desc limit 50`;
    const off = 'set local enable_bitmapscan = off; set local enable_indexscan = off';
    const textNoGin = await timeEach(peerN, (i) => noIndex(textSql, [queries[i], kb.id], off));
    const [vp, tp] = [p50p99(vectorPeer), p50p99(textNoGin)];
    return {
      store: kind,
      chunks: docs * SECTIONS,
      ingest_chunks_per_s: ingest,
      ...Object.fromEntries(modes.map((m) => [m, `${timed[m].p50} / ${timed[m].p99}`])),
      vector_peer: `${vp.p50} / ${vp.p99}`,
      'peer/vector p50': ratio(vp.p50, timed.vector.p50),
      text_no_gin: `${tp.p50} / ${tp.p99}`,
      'no-GIN/GIN p50': ratio(tp.p50, timed.text.p50),
      recall_10: Math.round(recall * 1000) / 1000,
      hybrid_target: `${timed.hybrid.p50} ≤ ${kind === 'pglite' ? 10 : 20} ms${size >= 100_000 ? '' : ' (set at 100k)'}`,
    };
  } finally {
    await db.close();
    await fresh?.drop();
  }
}

async function batch() {
  const topics = [
    'the garden',
    'a trip to Lisbon',
    'the new job',
    'a painting class',
    'the dog',
    'a concert',
  ];
  const docs = Array.from({ length: Number(args.docs) }, (_, i) => {
    const [speaker, session] = [i % 2 ? 'Melanie' : 'Caroline', Math.floor(i / 20) + 1];
    const content = `${speaker}: turn ${i} is about ${topics[i % topics.length]}, and what happened after session ${session}.`;
    const date = `2023-05-${String((session % 28) + 1).padStart(2, '0')}`;
    return { source: `D${session}:${(i % 20) + 1}`, content, metadata: { speaker, date } };
  });
  const size = Number(args.batch);
  const rows = [];
  for (const store of kinds) {
    const s = await startServer(store, {});
    try {
      const kb = async (name: string) =>
        (await s.request('POST', '/v1/knowledge-bases', { body: { name } })).body.id;
      const post = async (id: string, body: unknown, status: number) => {
        const r = await s.request('POST', `/v1/knowledge-bases/${id}/documents`, { body });
        if (r.status !== status || r.body.failed > 0) throw new Error(r.text);
      };
      const one = await kb('single');
      let t0 = performance.now();
      for (const d of docs) await post(one, d, 201);
      const single = Math.round(docs.length / ((performance.now() - t0) / 1000));
      const many = await kb('batch');
      t0 = performance.now();
      for (let i = 0; i < docs.length; i += size) await post(many, docs.slice(i, i + size), 200);
      const batched = Math.round(docs.length / ((performance.now() - t0) / 1000));
      rows.push({
        store,
        'one-per-request docs/s': single,
        'batch docs/s': batched,
        ratio: ratio(batched, single),
      });
    } finally {
      await s.close();
    }
  }
  return rows;
}

const rows = [];
if (args.mode === 'batch') rows.push(...(await batch()));
else for (const size of SIZES) for (const kind of kinds) rows.push(await search(kind, size));
console.log(
  args.mode === 'batch'
    ? `${args.docs} documents, batches of ${args.batch}`
    : 'latency ms, p50 / p99, top 10',
);
console.table(rows);
const numbers = (r: Record<string, unknown>, keys: string[]) =>
  keys.filter((k) => typeof r[k] === 'number').map((k) => [`${k.replace(/\W+/g, '_')}_${r.store}`, r[k]]);
const ratios = Object.fromEntries(
  rows.flatMap((r) =>
    numbers(r, args.mode === 'batch' ? ['ratio'] : ['peer/vector p50', 'no-GIN/GIN p50']).map(([k, v]) => [
      'chunks' in r ? `${k}_${r.chunks}` : k,
      v,
    ]),
  ),
);
console.log(JSON.stringify({ bench: 'memory', mode: args.mode, rows, ratios }));
