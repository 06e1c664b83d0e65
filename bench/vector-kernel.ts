/**
 * Whether the exact vector scan's WebAssembly SIMD kernel (src/memory/dot-kernel.ts) earns its
 * place: on one PostgreSQL server, the same chunks searched three ways — pgvector's HNSW index
 * (`embedding_vec`), the exact in-process scan with the int8 kernel and float rescoring, and the
 * same scan in float only (the kernel switched off). Clustered synthetic 512-d vectors (1,000
 * topics, as bench/memory.ts), top 10, queries near a topic; recall@10 of HNSW against the exact
 * answer. The three searches of a query run one after another (the machine's load falls on each
 * alike). Sequential scans are off in the database: at 20k chunks PostgreSQL's planner took a seq
 * scan over the TOASTed vectors (the index's cost looks higher than reading a "small" table), and
 * this measures the index. Needs a server with pgvector (`create extension vector` must work).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5440/postgres node --import tsx bench/vector-kernel.ts
 */
import { newId } from '../src/db/ids.ts';
import { migrate } from '../src/db/migrate.ts';
import { PostgresDb } from '../src/db/postgres.ts';
import { Int8Matrix } from '../src/memory/dot-kernel.ts';
import { normalise } from '../src/memory/embeddings.ts';
import { ExactVectorStore, openVectorStore, type VectorQuery } from '../src/memory/vectors.ts';
import { freshDatabase } from '../test/helpers/server.ts';
import { quantile } from './bench-app.ts';

const SIZES = [10_000, 50_000];
const DIMS = 512;
const QUERIES = 100;
const CLUSTERS = 1000;

function* noise(seed: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (s * 1664525 + 1013904223) >>> 0;
    yield s / 0xffffffff - 0.5;
  }
}
const centres = Array.from({ length: CLUSTERS }, (_, c) => {
  const g = noise(c * 7919 + 1);
  return normalise(Array.from({ length: DIMS }, () => g.next().value as number));
});
const SPREAD = 1 / Math.sqrt(DIMS / 12);
const vectorOf = (i: number) => {
  const g = noise(i * 2654435761);
  return normalise(centres[i % CLUSTERS]!.map((x) => x + SPREAD * (g.next().value as number)));
};

interface Stats {
  p50: number;
  p99: number;
  answers: string[][];
}

const fresh = await freshDatabase();
{
  const setup = await PostgresDb.open(fresh.url, { max: 1 });
  await setup.exec(`alter database ${new URL(fresh.url).pathname.slice(1)} set enable_seqscan = off`);
  await setup.close();
}
const db = await PostgresDb.open(fresh.url, { max: 4 });
const floatOnly = Int8Matrix.from;
try {
  await migrate(db);
  const [{ ok } = { ok: false }] = await db.query<{ ok: boolean }>(
    `select count(*) > 0 as ok from information_schema.columns where column_name = 'embedding_vec'`,
  );
  if (!ok) throw new Error('this server has no pgvector: install it (postgresql-NN-pgvector) and run again');
  const tenantId = newId();
  await db.query(`insert into tenants (id, name) values ($1, 'kernel')`, [tenantId]);
  const pgvector = await openVectorStore(db, 1_000_000);
  console.log(
    '| chunks | pgvector HNSW p50 / p99 ms | kernel p50 / p99 ms | float scan p50 / p99 ms | HNSW recall@10 | exact reload after a change ms |',
  );
  console.log('|---|---|---|---|---|---|');
  let loaded = 0;
  const kbId = newId();
  const docId = newId();
  await db.query(`insert into knowledge_bases (id, tenant_id, name, kind) values ($1, $2, 'kb', 'domain')`, [
    kbId,
    tenantId,
  ]);
  await db.query(
    `insert into documents (id, tenant_id, knowledge_base_id, source, format, content_hash, bytes)
     values ($1, $2, $3, 'doc', 'text', '', 0)`,
    [docId, tenantId, kbId],
  );
  for (const size of SIZES) {
    // Both columns hold the same vectors, so each store reads its own.
    for (; loaded < size; loaded += 500) {
      const ids: string[] = [];
      const vecs: string[] = [];
      for (let i = loaded; i < Math.min(size, loaded + 500); i++) {
        ids.push(newId());
        vecs.push(`[${vectorOf(i).join(',')}]`);
      }
      await db.query(
        `insert into chunks (id, tenant_id, knowledge_base_id, document_id, position, content, tsv,
                             embedding, embedding_vec, embedding_dims, embedding_model)
         select id, $2, $3, $4, ord::int, '', ''::tsvector, v::vector::real[], v::vector, ${DIMS}, 'synthetic'
           from unnest($1::uuid[], $5::text[]) with ordinality as t(id, v, ord)`,
        [ids, tenantId, kbId, docId, vecs],
      );
    }
    await db.exec('analyze chunks');
    const query = (i: number): VectorQuery => ({
      tenantId,
      kbId,
      revision: size,
      vector: vectorOf(size + 1_000_000 + i),
      limit: 10,
    });
    const hnswStore = pgvector;
    const kernelStore = new ExactVectorStore(db, 1_000_000);
    const floatStore = new ExactVectorStore(db, 1_000_000);
    const ways = [
      (q: VectorQuery) => hnswStore.search(q),
      (q: VectorQuery) => kernelStore.search(q),
      async (q: VectorQuery) => {
        Int8Matrix.from = () => null;
        try {
          return await floatStore.search(q);
        } finally {
          Int8Matrix.from = floatOnly;
        }
      },
    ];
    // The exact store reloads a knowledge base's vectors after every change to it (its revision).
    const reloadStart = performance.now();
    await kernelStore.search(query(QUERIES + 100));
    const reload = Math.round(performance.now() - reloadStart);
    const ms: number[][] = [[], [], []];
    const answers: string[][][] = [[], [], []];
    for (let i = -20; i < QUERIES; i++) {
      for (const [w, search] of ways.entries()) {
        const t = performance.now();
        const hits = await search(query(i < 0 ? QUERIES - i : i));
        if (i < 0) continue; // warm: index pages, the matrices
        ms[w]!.push(performance.now() - t);
        answers[w]!.push(hits.map((h) => h.chunkId));
      }
    }
    const r = (x: number) => Math.round(x * 100) / 100;
    const [hnsw, kernel, float] = ms.map((m, w) => ({
      p50: r(quantile(m, 0.5)),
      p99: r(quantile(m, 0.99)),
      answers: answers[w]!,
    })) as [Stats, Stats, Stats];
    let found = 0;
    kernel.answers.forEach((exact, i) => {
      const got = new Set(hnsw.answers[i]);
      found += exact.filter((id) => got.has(id)).length;
    });
    console.log(
      `| ${size} | ${hnsw.p50} / ${hnsw.p99} | ${kernel.p50} / ${kernel.p99} | ${float.p50} / ${float.p99} | ${(found / (QUERIES * 10)).toFixed(3)} | ${reload} |`,
    );
  }
} finally {
  Int8Matrix.from = floatOnly;
  await db.close();
  await fresh.drop();
}
