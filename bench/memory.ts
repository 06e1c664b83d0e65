/**
 * Memory benchmark: knowledge-base ingest throughput and search latency on PGlite (pgvector HNSW)
 * and PostgreSQL (GIN full-text + exact in-process vector scan over `real[]`), and what the offline
 * embedder costs (disk, cold start, chunks/s); retrieval quality is `npm run eval:memory`.
 * Targets (issue 7): hybrid p50 ≤ 20 ms at 100k chunks on PostgreSQL, ≤ 10 ms on PGlite; printed
 * after the table. What makes them: full-text candidates gathered rarest word first from the GIN
 * index with bounded ranking (`chunk_text_candidates`, migration 0010), skipping the look-ups of
 * words ANALYZE shows to be common in the knowledge base (migration 0012), over tsvectors kept in
 * the rows (migration 0013), ranked by the share of the query's idf covered (migration 0026); hybrid
 * by score fusion, which reads 20 vector similarities (src/memory/search.ts); on PostgreSQL the exact scan's int8 SIMD pass with float rescoring
 * (src/memory/dot-kernel.ts); on PGlite the HNSW index in a 512 MB buffer cache
 * (`PGLITE_SHARED_BUFFERS_MB`; the index is ~270 MB at 100k chunks, and in PGlite's default 128 MB a
 * vector search read 1,300–1,600 pages per query), searched with the query vector bound as integers
 * (src/memory/vectors.ts). Timed searches come after 50 untimed ones per mode, on queries of their
 * own (steady state). Last full run (quiet 2-core machine, clustered vectors): PGlite 100k full-text
 * 5.0, vector 4.4, hybrid 7.5 ms p50, recall@10 1.0; PostgreSQL 100k hybrid 9.8 ms. With
 * `--vectors uniform` (PGlite 100k): full-text 5.3, vector 9.2, hybrid 12.5 ms, recall@10 0.105.
 *
 * Speed runs use a synthetic corpus (Zipf-distributed pseudo-words, 20 sections of ~120 words per
 * document, one chunk per section) and synthetic 512-d vectors (`SyntheticEmbedder`: clustered by
 * default, `--vectors uniform` for the worst case of a graph index), so they measure the store,
 * not an embedding model; the offline model's own speed is measured separately (embed chunks/s).
 * Peers in the same run: vector search without its index (pgvector exact scan on PGlite; a SQL
 * dot product over `real[]` on PostgreSQL) and full-text search without the GIN index.
 * On PGlite, ingest throughput includes building the HNSW index once after the load (ingest leaves
 * it out of bulk loads, src/memory/vectors.ts). HNSW recall@10 against the exact scan is printed
 * too, so a faster search that finds other chunks shows.
 *
 *   node --import tsx bench/memory.ts [--quick] [--sizes 10000,100000] [--queries 200] [--only pglite|postgres]
 *     [--vectors clustered|uniform]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (the default when unset)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Db, Queryable } from '../src/db/db.ts';
import { newId } from '../src/db/ids.ts';
import { migrate } from '../src/db/migrate.ts';
import { PgliteDb } from '../src/db/pglite.ts';
import { PostgresDb } from '../src/db/postgres.ts';
import { type Embedder, normalise, OfflineEmbedder } from '../src/memory/embeddings.ts';
import { Memory } from '../src/memory/memory.ts';
import type { SearchInput } from '../src/memory/schema.ts';
import { freshDatabase } from '../test/helpers/server.ts';
import { quantile } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    queries: { type: 'string' },
    only: { type: 'string' },
    vectors: { type: 'string', default: 'clustered' },
  },
});
const SIZES = (args.sizes ?? (args.quick ? '2000' : '10000,100000')).split(',').map(Number);
const QUERIES = Number(args.queries ?? (args.quick ? 50 : 200));
const BASE = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DIMS = 512;
/** Untimed searches per mode before the timed ones (queries of their own). */
const WARM_UP_QUERIES = 50;
if (args.vectors !== 'clustered' && args.vectors !== 'uniform')
  throw new Error('--vectors clustered|uniform');
const VECTORS = args.vectors;
const SECTIONS = 20;
const PGLITE_SHARED_BUFFERS_MB = 512;
const who = (tenantId: string) => ({ tenantId, actor: 'system' });

// ---------- synthetic corpus ----------
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const syllables = [
  'ka',
  'lo',
  'mi',
  'ten',
  'ra',
  'vus',
  'po',
  'del',
  'shi',
  'gar',
  'nu',
  'bex',
  'ol',
  'tri',
  'fen',
  'qua',
];
const vocabulary = Array.from({ length: 20_000 }, (_, i) => {
  let w = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / syllables.length)) w += syllables[n % syllables.length];
  return `${w}${syllables[i % 7]}`;
});
/** Zipf(1): rank r is drawn with probability ∝ 1/r, like words in real text. */
const zipfWord = () =>
  vocabulary[
    Math.min(vocabulary.length - 1, Math.floor(Math.exp(rand() * Math.log(vocabulary.length))) - 1)
  ]!;
const paragraph = (n: number) => Array.from({ length: n }, zipfWord).join(' ');
const syntheticDoc = (i: number) =>
  Array.from({ length: SECTIONS }, (_, s) => `## Section ${i}-${s}\n\n${paragraph(120)}.`).join('\n\n');

/** A deterministic stream of numbers in [-0.5, 0.5) from a seed. */
function* noise(seed: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (s * 1664525 + 1013904223) >>> 0;
    yield s / 0xffffffff - 0.5;
  }
}

/** Clustered vectors: topic centres, each a fixed random unit vector. */
const CLUSTERS = 1000;
const centres = Array.from({ length: CLUSTERS }, (_, c) => {
  const g = noise(c * 7919 + 1);
  return normalise(Array.from({ length: DIMS }, () => g.next().value as number));
});
/** Per-dimension noise scale: a noise vector of about unit length, so members of a topic are at cosine ~0.5. */
const SPREAD = 1 / Math.sqrt(DIMS / 12);

/**
 * Stands in for a model in the speed runs, so they measure the store, not an embedding model.
 * `clustered` (the default): a text's hash picks one of `CLUSTERS` topic centres and adds noise of
 * about the centre's length, so chunks come in topics of ~100 at 100k chunks, as text embeddings
 * do, and a query (embedded the same way) lands among one topic's chunks. `uniform`: one random
 * vector per text, where no chunk is much nearer to a query than any other — the worst case for
 * a graph index, which walks far and finds few of the true top 10 (recall 0.05–0.16).
 */
class SyntheticEmbedder implements Embedder {
  readonly id = `synthetic-${VECTORS}:512`;
  async embed(texts: readonly string[]): Promise<number[][]> {
    return texts.map((t) => {
      const h = createHash('sha256').update(t).digest();
      const g = noise(h.readUInt32LE(0));
      if (VECTORS === 'uniform') return Array.from({ length: DIMS }, () => g.next().value as number);
      const centre = centres[h.readUInt32LE(4) % CLUSTERS]!;
      return centre.map((x) => x + SPREAD * (g.next().value as number));
    });
  }
}

// ---------- stores ----------
async function openStore(kind: 'pglite' | 'postgres'): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (kind === 'pglite') {
    // As a server configured for a large knowledge base (`store.pglite_shared_buffers_mb`): at 100k
    // chunks the HNSW index, the table and the GIN index (about 420 MB) stay in the buffer cache.
    const db = await PgliteDb.open('memory://', { sharedBuffersMb: PGLITE_SHARED_BUFFERS_MB });
    return { db, drop: async () => {} };
  }
  // A fresh database on the server, made and dropped the way the test suites do.
  process.env.DATABASE_URL ??= BASE;
  const fresh = await freshDatabase();
  const db = await PostgresDb.open(fresh.url, { max: 4 });
  return { db, drop: fresh.drop };
}

async function tenant(db: Db): Promise<string> {
  const id = newId();
  await db.query('insert into tenants (id, name) values ($1, $2)', [id, `bench-${id.slice(-6)}`]);
  return id;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(5, n); i++) await fn(i); // warm-up: plans, caches, the exact scan's matrix
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return { p50: round(quantile(ms, 0.5)), p99: round(quantile(ms, 0.99)) };
}

interface SpeedRow {
  store: string;
  chunks: number;
  ingest_chunks_per_s: number;
  /** Of the ingest time, the seconds spent building the vector index after the load. */
  index_build_s: number;
  text: { p50: number; p99: number };
  vector: { p50: number; p99: number };
  hybrid: { p50: number; p99: number };
  vector_peer: { p50: number; p99: number; what: string };
  /** Share of the exact top 10 that vector search returns in its top 10. */
  vector_recall_10: number;
  text_no_gin: { p50: number; p99: number };
}

async function speed(kind: 'pglite' | 'postgres', size: number): Promise<SpeedRow> {
  const { db, drop } = await openStore(kind);
  try {
    await migrate(db);
    const tenantId = await tenant(db);
    const memory = await Memory.open(db, {
      chunking: { maxChars: 1200, overlapChars: 200 },
      maxDocumentBytes: 20 * 1024 * 1024,
      vectorCacheChunks: 1_000_000,
      embedder: new SyntheticEmbedder(),
    });
    const kb = await memory.knowledgeBases.create(
      tenantId,
      { name: 'bench', kind: 'domain', description: '', metadata: {} },
      who(tenantId),
    );
    const docs = Math.ceil(size / SECTIONS);
    const ctx = { tenantId, tenantName: 'bench' };
    const texts: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < docs; i++) {
      const text = syntheticDoc(i);
      if (i < 200) texts.push(text);
      await memory.ingest(
        tenantId,
        kb.id,
        { source: `doc-${i}.md`, bytes: Buffer.from(text), metadata: {} },
        ctx,
        who(tenantId),
      );
      if (i % 100 === 99) process.stderr.write(`\r  ${kind} ${size}: ingested ${(i + 1) * SECTIONS} chunks`);
    }
    const ingestS = (performance.now() - t0) / 1000;
    process.stderr.write('\n');
    // On PGlite a bulk load leaves the HNSW index to be built once at the end (src/memory/vectors.ts);
    // its time counts as ingest, so the throughput is the time until search runs on the index.
    const t1 = performance.now();
    await memory.vectors.ready(DIMS);
    const indexS = (performance.now() - t1) / 1000;
    await db.exec('analyze chunks');
    // Queries: 3 to 5 words taken from a random section, so each has a true best match.
    const query = () => {
      const words = texts[Math.floor(rand() * texts.length)]!.split(/\s+/).filter((w) =>
        /^[a-z]{6,}$/.test(w),
      );
      return Array.from(
        { length: 3 + Math.floor(rand() * 3) },
        () => words[Math.floor(rand() * words.length)]!,
      ).join(' ');
    };
    const queries = Array.from({ length: QUERIES }, query);
    const search = (mode: SearchInput['mode'], q: string) =>
      memory.search(tenantId, kb.id, { query: q, top_k: 10, mode, filters: {} }, ctx);
    const run = (mode: SearchInput['mode']) => (i: number) => search(mode, queries[i % queries.length]!);
    // Steady state, as a server that has been answering sees it: each mode first answers other
    // queries, untimed (plans, JIT, the buffer cache after the index build).
    for (const mode of ['text', 'vector', 'hybrid'] as const)
      for (let i = 0; i < WARM_UP_QUERIES; i++) await search(mode, query());
    const text = await timed(QUERIES, run('text'));
    const vector = await timed(QUERIES, run('vector'));
    const hybrid = await timed(QUERIES, run('hybrid'));
    const probe = (await new SyntheticEmbedder().embed(['probe']))[0]!;
    const vecText = `[${probe.join(',')}]`;
    const peerN = Math.max(3, Math.min(QUERIES, size >= 100_000 ? 5 : 20));
    let vectorPeer: SpeedRow['vector_peer'];
    // The exact scan on PostgreSQL finds the true top 10.
    let vectorRecall = 1;
    if (kind === 'pglite') {
      const r = await timed(peerN, () =>
        db.transaction(async (tx: Queryable) => {
          await tx.exec('set local enable_indexscan = off');
          return tx.query(
            `select id from chunks where embedding_dims = ${DIMS} and knowledge_base_id = $2
              order by embedding_vec::vector(${DIMS}) <=> $1::vector(${DIMS}) limit 50`,
            [vecText, kb.id],
          );
        }),
      );
      // What HNSW gives up: of the exact top 10 (the scan above without the index), the share the
      // index returns for the same query vectors, at the depth search asks it for.
      let found = 0;
      const recallN = Math.min(QUERIES, 20);
      for (let i = 0; i < recallN; i++) {
        const v = normalise((await new SyntheticEmbedder().embed([queries[i]!]))[0]!);
        const approx = await memory.vectors.search({
          tenantId,
          kbId: kb.id,
          revision: 0,
          vector: v,
          limit: 50,
        });
        const exact = await db.transaction(async (tx: Queryable) => {
          await tx.exec('set local enable_indexscan = off');
          return tx.query<{ id: string }>(
            `select id from chunks where embedding_dims = ${DIMS} and knowledge_base_id = $2
              order by embedding_vec::vector(${DIMS}) <=> $1::vector(${DIMS}) limit 10`,
            [`[${v.join(',')}]`, kb.id],
          );
        });
        const top = new Set(approx.slice(0, 10).map((h) => h.chunkId));
        found += exact.filter((r) => top.has(r.id)).length;
      }
      vectorRecall = round(found / (recallN * 10), 3);
      vectorPeer = { ...r, what: 'pgvector exact scan (no HNSW)' };
    } else {
      const r = await timed(peerN, () =>
        db.query(
          `select id from chunks c where knowledge_base_id = $2 and embedding_dims = ${DIMS}
            order by (select sum(a * b) from unnest(c.embedding, $1::real[]) as t(a, b)) desc limit 50`,
          [probe, kb.id],
        ),
      );
      vectorPeer = { ...r, what: 'SQL dot product over real[]' };
    }
    const textNoGin = await timed(peerN, (i) =>
      db.transaction(async (tx: Queryable) => {
        await tx.exec('set local enable_bitmapscan = off; set local enable_indexscan = off');
        return tx.query(
          `with q as (select replace(websearch_to_tsquery('english', $1)::text, '&', '|')::tsquery as q)
           select c.id from chunks c, q where c.tsv @@ q.q and c.knowledge_base_id = $2
            order by ts_rank(c.tsv, q.q) desc limit 50`,
          [queries[i % queries.length], kb.id],
        );
      }),
    );
    return {
      store: kind === 'pglite' ? 'pglite (pgvector HNSW)' : 'postgres (GIN + exact real[] scan)',
      chunks: docs * SECTIONS,
      ingest_chunks_per_s: Math.round((docs * SECTIONS) / (ingestS + indexS)),
      index_build_s: round(indexS, 1),
      text,
      vector,
      hybrid,
      vector_peer: vectorPeer,
      vector_recall_10: vectorRecall,
      text_no_gin: textNoGin,
    };
  } finally {
    await db.close();
    await drop();
  }
}

// ---------- the offline embedder's cost ----------
/** What the offline embedder (TensorFlow.js + USE) costs: disk, first embedding from cold, chunks/s. */
async function embedderCost() {
  const du = (dir: string) =>
    Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  const installMb = Math.round(du('node_modules/@energetic-ai'));
  const t0 = performance.now();
  const embedder = new OfflineEmbedder();
  await embedder.embed(['warm up']);
  const coldMs = Math.round(performance.now() - t0);
  const sample = Array.from({ length: 64 }, () => paragraph(120));
  const t = performance.now();
  await embedder.embed(sample);
  return { installMb, coldMs, chunksPerS: Math.round(sample.length / ((performance.now() - t) / 1000)) };
}

// ---------- main ----------
const kinds = (['pglite', 'postgres'] as const).filter((k) => !args.only || args.only === k);
const speedRows: SpeedRow[] = [];
for (const size of SIZES) for (const kind of kinds) speedRows.push(await speed(kind, size));

console.log('\nSearch latency, top 10 (ms): p50 / p99');
console.log(
  [
    'store',
    'chunks',
    'ingest chunks/s',
    'of which index s',
    'full-text',
    'vector',
    'hybrid',
    'vector peer',
    'peer/vector p50',
    'text w/o GIN',
    'no-GIN/GIN p50',
  ]
    .map((h) => h.padEnd(16))
    .join(''),
);
for (const r of speedRows) {
  const cell = (x: { p50: number; p99: number }) => `${x.p50} / ${x.p99}`.padEnd(16);
  console.log(
    [
      r.store.slice(0, 15).padEnd(16),
      String(r.chunks).padEnd(16),
      String(r.ingest_chunks_per_s).padEnd(16),
      String(r.index_build_s).padEnd(16),
      cell(r.text),
      cell(r.vector),
      cell(r.hybrid),
      cell(r.vector_peer),
      `${round(r.vector_peer.p50 / r.vector.p50, 1)}×`.padEnd(16),
      cell(r.text_no_gin),
      `${round(r.text_no_gin.p50 / r.text.p50, 1)}×`,
    ].join(''),
  );
}
for (const r of speedRows)
  console.log(
    `  ${r.store} ${r.chunks}: vector peer = ${r.vector_peer.what}; vector recall@10 vs exact ${r.vector_recall_10}`,
  );

// The targets: hybrid search p50 at 100k chunks.
const TARGETS = { postgres: 20, pglite: 10 } as const;
for (const r of speedRows) {
  const kind = r.store.startsWith('pglite') ? 'pglite' : 'postgres';
  const note = r.chunks >= 100_000 ? '' : ` (target is set at 100k chunks; this is ${r.chunks})`;
  const verdict = r.hybrid.p50 <= TARGETS[kind] ? 'met' : 'MISSED';
  console.log(
    `target ${kind}: hybrid p50 ${r.hybrid.p50} ms ≤ ${TARGETS[kind]} ms → ${verdict}${note}; ingest ${r.ingest_chunks_per_s} chunks/s`,
  );
}

const e = await embedderCost();
console.log(
  `\noffline embedder: ${e.installMb} MB installed, first embedding from cold ${e.coldMs} ms, ${e.chunksPerS} chunks/s (120-word chunks, one thread); retrieval quality: npm run eval:memory`,
);
console.log(JSON.stringify({ bench: 'memory', quick: args.quick, speed: speedRows, embedder: e }));
