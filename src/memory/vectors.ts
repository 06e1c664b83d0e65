import type { Db } from '../db/db.ts';
import { Int8Matrix } from './dot-kernel.ts';

export interface VectorHit {
  chunkId: string;
  similarity: number;
}

export interface VectorQuery {
  tenantId: string;
  kbId: string;
  revision: number;
  vector: number[];
  limit: number;
  /** Only chunks of these documents, when set. */
  documentIds?: ReadonlySet<string>;
}

/**
 * Where chunk vectors live and how they are searched. Two implementations behind one shape:
 * pgvector with an HNSW index where the store has the extension, and a portable `real[]` column
 * scanned exactly in this process where it does not.
 */
export interface VectorStore {
  readonly kind: 'pgvector' | 'exact';
  /**
   * Readies the store for `rows` new vectors of this size, before the ingest transaction: PGlite has
   * one connection, which the transaction holds, so DDL cannot run beside it.
   */
  prepare(dims: number, rows: number): Promise<void>;
  /** Brings the index for vectors of this size up to date; search does this itself. */
  ready(dims: number): Promise<void>;
  /**
   * The chunks column that holds vectors here, its SQL type, and a vector's text form for a
   * parameter cast to that type: ingest writes vectors in the same INSERT as the chunk (an UPDATE
   * afterwards would write every row twice and touch every index twice).
   */
  readonly column: 'embedding_vec' | 'embedding';
  readonly sqlType: 'vector' | 'real[]';
  literal(v: readonly number[]): string;
  search(q: VectorQuery): Promise<VectorHit[]>;
  /**
   * Where the store's connection is the database's only one (PGlite), the chunks nearest to `vector`
   * as SQL to run inside a larger statement, so a hybrid search is one round trip: `select id, ord`
   * (1-based, nearest first) over the parameters named in `p`, with the value to bind to `p.vector`.
   * With `similarity`, each row also has its cosine similarity to `vector` (`similarity`).
   * Undefined where `search` is the way.
   */
  candidatesSql(
    vector: readonly number[],
    p: CandidateParams,
    similarity?: boolean,
  ): Promise<{ sql: string; vectorParam: string } | undefined>;
}

/** Parameter references (`$7`, `$2::uuid` …) for `candidatesSql`. */
export interface CandidateParams {
  /** The query vector, bound to the `vectorParam` that `candidatesSql` returns. */
  vector: string;
  kb: string;
  tenant: string;
  /** uuid[] of allowed documents, or null for all. */
  docs: string;
  limit: string;
}

/** Picks the store's vector implementation: pgvector when migration 0005 could add its column. */
export async function openVectorStore(db: Db, cacheMaxChunks: number): Promise<VectorStore> {
  // The catalog itself, not information_schema.columns: that view's first use plans a join of a
  // dozen catalogs, ~70 ms of a later start on PGlite's files against ~1 ms for this.
  const rows = await db.query(
    `select 1 from pg_attribute where attrelid = to_regclass('chunks') and attname = 'embedding_vec' and not attisdropped`,
  );
  return rows.length > 0 ? new PgVectorStore(db) : new ExactVectorStore(db, cacheMaxChunks);
}

/**
 * On PGlite an HNSW index costs far more to keep up row by row than to build: pgvector's on-disk
 * insert reads each neighbour's vector back from its page and re-prunes its neighbour list, about
 * 12 ms per 512-d row in WebAssembly against under 2 ms per row for a build in memory. So there,
 * ingest stops maintaining the index once it would add more than this share of the rows the index
 * was built over (and at least `DEFERRED_MIN_ROWS`): it drops the index, later rows go in without
 * it, and the next vector search (or `ready`) builds it again over every row. Small additions to a
 * large knowledge base still go into the index one by one; filling one from empty costs one build.
 */
const DEFERRED_SHARE = 0.2;

/** HNSW candidate list size while searching (pgvector's default is 40); at least the depth asked. */
export const HNSW_EF_SEARCH = 100;

/**
 * A query vector as a search parameter: its components scaled to integers (the largest to ±2^20)
 * in `int[]` text, cast in SQL by `QUERY_VECTOR`. Cosine distance ignores scale, and the rounding is
 * below a millionth of the largest component. Why not the `[x,y,…]` text: pgvector parses it with
 * `strtof`, which in PGlite's WebAssembly takes about 0.9 ms for 512 floats, and a search casts its
 * parameter twice (the distance and the order); 512 integers parse in under 0.1 ms.
 */
export function queryVectorParam(v: readonly number[]): string {
  let max = 0;
  for (const x of v) max = Math.max(max, Math.abs(x));
  const k = max > 0 ? 2 ** 20 / max : 0;
  return `{${v.map((x) => Math.round(x * k)).join(',')}}`;
}
const QUERY_VECTOR = (param: string, dims: number) => `${param}::int[]::vector(${dims})`;

/** Search settings: iterative scans keep walking the graph while filters drop rows. */
const hnswSettings = (scope: '' | 'local ') =>
  `set ${scope}hnsw.iterative_scan = relaxed_order; set ${scope}hnsw.ef_search = ${HNSW_EF_SEARCH}`;
const DEFERRED_MIN_ROWS = 2000;

interface IndexState {
  /** Whether the index exists now. */
  indexed: boolean;
  /** Rows of this size when the index was built (or found). */
  builtRows: number;
  /** Rows written through the index since then. */
  since: number;
}

/**
 * pgvector: vectors of any dimension share the untyped `embedding_vec` column; each dimension in
 * use gets a partial HNSW index on a cast to `vector(N)` (HNSW needs a fixed dimension). On
 * PostgreSQL it is created the first time vectors of that size are written; on PGlite it is built
 * on first search and left out during bulk loads (see `DEFERRED_SHARE`).
 */
class PgVectorStore implements VectorStore {
  readonly kind = 'pgvector' as const;
  private readonly indexed = new Set<number>();
  private readonly states = new Map<number, Promise<IndexState>>();
  private readonly builds = new Map<number, Promise<void>>();
  private sessionSet?: Promise<void>;
  constructor(private readonly db: Db) {}

  /**
   * `dims` is the length of a vector the embedder returned (or a query's), checked to be a small
   * integer: the one value spliced into SQL text, since DDL takes no parameters.
   */
  private static checked(dims: number): number {
    if (!Number.isInteger(dims) || dims < 1 || dims > 2000) throw new Error(`bad vector size ${dims}`);
    return dims;
  }

  private static createIndex(dims: number): string {
    return `create index if not exists chunks_hnsw_${dims} on chunks using hnsw ((embedding_vec::vector(${dims})) vector_cosine_ops) where embedding_dims = ${dims}`;
  }

  /** PGlite: whether the index exists and how many rows it was built over, read once per size. */
  private state(dims: number): Promise<IndexState> {
    let s = this.states.get(dims);
    if (!s) {
      s = this.db
        .query<{ indexed: boolean; n: number }>(
          `select to_regclass('chunks_hnsw_${dims}') is not null as indexed,
                  (select count(*)::int from chunks where embedding_dims = ${dims}) as n`,
        )
        .then(([r]) => ({ indexed: r!.indexed, builtRows: r!.n, since: 0 }));
      this.states.set(dims, s);
      s.catch(() => this.states.delete(dims));
    }
    return s;
  }

  async prepare(dims: number, rows: number): Promise<void> {
    PgVectorStore.checked(dims);
    if (this.db.kind !== 'pglite') return this.ready(dims);
    const s = await this.state(dims);
    if (!s.indexed) return;
    s.since += rows;
    if (s.since > Math.max(DEFERRED_MIN_ROWS, s.builtRows * DEFERRED_SHARE)) {
      s.indexed = false;
      await this.db.exec(`drop index if exists chunks_hnsw_${dims}`);
    }
  }

  async ready(dims: number): Promise<void> {
    PgVectorStore.checked(dims);
    if (this.db.kind !== 'pglite') {
      if (this.indexed.has(dims)) return;
      await this.db.exec(PgVectorStore.createIndex(dims));
      this.indexed.add(dims);
      return;
    }
    const s = await this.state(dims);
    if (s.indexed) return;
    let build = this.builds.get(dims);
    if (!build) {
      build = this.build(dims, s).finally(() => this.builds.delete(dims));
      this.builds.set(dims, build);
    }
    await build;
  }

  /**
   * Builds the index over every row of this size, with room for the whole graph in memory: past
   * `maintenance_work_mem` pgvector goes on inserting row by row, the slow path this avoids.
   */
  private async build(dims: number, state: IndexState): Promise<void> {
    const [{ n, buffers } = { n: 0, buffers: 128 }] = await this.db.query<{ n: number; buffers: number }>(
      `select count(*)::int as n,
              (select setting::int / 128 from pg_settings where name = 'shared_buffers') as buffers
         from chunks where embedding_dims = ${dims}`,
    );
    // Per row: the vector, 2·m neighbours on the ground layer and a few above, and bookkeeping
    // (5,000 rows of 512 dimensions fit in 13 MB; at half that the build took three times as long).
    // The buffer cache and this share PGlite's 2 GB of WebAssembly memory.
    const cap = Math.min(1024, 1536 - buffers);
    const mb = Math.min(cap, Math.max(64, Math.ceil((1.25 * n * (dims * 4 + 600)) / 2 ** 20) + 16));
    await this.db.exec(`set maintenance_work_mem = '${mb}MB'`);
    try {
      await this.db.exec(PgVectorStore.createIndex(dims));
    } finally {
      await this.db.exec('reset maintenance_work_mem');
    }
    Object.assign(state, { indexed: true, builtRows: n, since: 0 });
  }

  readonly column = 'embedding_vec' as const;
  readonly sqlType = 'vector' as const;
  literal = (v: readonly number[]) => `[${v.join(',')}]`;

  private session(): Promise<void> {
    // One connection: session settings hold for every later query, so they are set once.
    this.sessionSet ??= this.db.exec(hnswSettings(''));
    return this.sessionSet;
  }

  async candidatesSql(
    vector: readonly number[],
    p: CandidateParams,
    similarity = false,
  ): Promise<{ sql: string; vectorParam: string } | undefined> {
    if (this.db.kind !== 'pglite') return undefined;
    const dims = vector.length;
    await this.ready(dims);
    await this.session();
    // Ranks in the index's order. The distance is written once, as the order key, and the similarity
    // derived from it outside, so the plan evaluates one distance expression per row (the index scan's
    // output) and casts the query vector once (a constant by then). Only score fusion asks for it, for
    // its first 20 rows. The order is exact within the first `ef_search` rows; past them (a filtered
    // scan that goes on walking) pgvector's relaxed order may swap close neighbours, which is as
    // approximate as HNSW itself.
    const sql = `select id, row_number() over () as ord${similarity ? ', 1 - distance as similarity' : ''} from (
        select id, embedding_vec::vector(${dims}) <=> ${QUERY_VECTOR(p.vector, dims)} as distance from chunks
         where embedding_dims = ${dims} and knowledge_base_id = ${p.kb} and tenant_id = ${p.tenant}
           and (${p.docs}::uuid[] is null or document_id = any(${p.docs}::uuid[]))
         order by distance
         limit ${p.limit}) nearest`;
    return { sql, vectorParam: queryVectorParam(vector) };
  }

  async search(q: VectorQuery): Promise<VectorHit[]> {
    const dims = q.vector.length;
    await this.ready(dims);
    const docs = q.documentIds ? [...q.documentIds] : null;
    // The cast and the `embedding_dims` predicate repeat the index definition so the planner uses it.
    // A filtered HNSW scan keeps walking the graph until it has enough rows (pgvector iterative scans).
    const v = QUERY_VECTOR('$1', dims);
    const sql = `select id, 1 - distance as similarity from (
        select id, embedding_vec::vector(${dims}) <=> ${v} as distance from chunks
         where embedding_dims = ${dims} and knowledge_base_id = $2 and tenant_id = $3
           and ($5::uuid[] is null or document_id = any($5::uuid[]))
         order by distance
         limit $4) nearest`;
    const params = [queryVectorParam(q.vector), q.kbId, q.tenantId, q.limit, docs];
    let rows: { id: string; similarity: number }[];
    if (this.db.kind === 'pglite') {
      await this.session();
      rows = await this.db.query(sql, params);
    } else {
      rows = await this.db.transaction(async (tx) => {
        await tx.exec(hnswSettings('local '));
        return tx.query(sql, params);
      });
    }
    return rows.map((r) => ({ chunkId: r.id, similarity: Number(r.similarity) }));
  }
}

interface Matrix {
  revision: number;
  dims: number;
  ids: string[];
  docIds: string[];
  /** Row-major, unit-length rows. */
  data: Float32Array;
  /** The same rows quantised for the SIMD pass; null where the runtime has no WebAssembly SIMD. */
  int8: Int8Matrix | null;
}

/**
 * The exact fallback: the vectors of one knowledge base are loaded once into a Float32Array and
 * scanned in this process (rows are stored unit-length), while the same in SQL over `real[]` takes
 * seconds. A float32 scan over 100k × 512 reads 200 MB per query (about 50 ms in JavaScript), so a
 * search first scans an int8 copy with a WebAssembly SIMD kernel (a quarter of the bytes, about
 * 5 ms), turns each row's integer score into a guaranteed interval around its true similarity, and
 * rescores in float only the rows whose interval reaches the k-th best lower bound: a few hundred.
 * The answer is the exact top k, not an approximation. The knowledge base's `revision` tells when
 * to reload; the cache holds at most `maxChunks` vectors.
 */
export class ExactVectorStore implements VectorStore {
  readonly kind = 'exact' as const;
  private readonly cache = new Map<string, Matrix>();
  constructor(
    private readonly db: Db,
    private readonly maxChunks: number,
  ) {}

  async prepare(): Promise<void> {}
  async ready(): Promise<void> {}
  async candidatesSql(): Promise<undefined> {
    return undefined;
  }

  readonly column = 'embedding' as const;
  readonly sqlType = 'real[]' as const;
  literal = (v: readonly number[]) => `{${v.join(',')}}`;

  private async matrix(q: VectorQuery): Promise<Matrix> {
    const key = `${q.kbId}:${q.vector.length}`;
    const hit = this.cache.get(key);
    if (hit && hit.revision === q.revision) return hit;
    const dims = q.vector.length;
    const rows = await this.db.query<{ id: string; document_id: string; embedding: number[] }>(
      `select id, document_id, embedding from chunks
        where knowledge_base_id = $1 and tenant_id = $2 and embedding_dims = $3`,
      [q.kbId, q.tenantId, dims],
    );
    const data = new Float32Array(rows.length * dims);
    rows.forEach((r, i) => {
      data.set(r.embedding, i * dims);
    });
    const m: Matrix = {
      revision: q.revision,
      dims,
      ids: rows.map((r) => r.id),
      docIds: rows.map((r) => r.document_id),
      data,
      int8: Int8Matrix.from(data, rows.length, dims),
    };
    this.cache.delete(key);
    this.cache.set(key, m);
    // Least recently loaded knowledge bases go first when the cache is over its size.
    let total = 0;
    for (const v of this.cache.values()) total += v.ids.length;
    for (const [k, v] of this.cache) {
      if (total <= this.maxChunks || k === key) break;
      this.cache.delete(k);
      total -= v.ids.length;
    }
    return m;
  }

  async search(q: VectorQuery): Promise<VectorHit[]> {
    const m = await this.matrix(q);
    const query = Float32Array.from(q.vector);
    const docs = q.documentIds;
    const allowed = docs ? (row: number) => docs.has(m.docIds[row]!) : () => true;
    const best = new TopK(q.limit);
    if (!m.int8) {
      for (let row = 0; row < m.ids.length; row++)
        if (allowed(row)) best.offer(row, dot(m.data, row * m.dims, query, m.dims));
      return best.hits(m.ids);
    }
    // With x ≈ s·x̂ (|error| ≤ s/2 per component) and q ≈ t·q̂ (|error| ≤ t/2), the true q·x is
    // within s·(t·Σ|x̂| + Σ|q|)/2 of s·t·(q̂·x̂); the margin covers float rounding, far smaller.
    const { scores, t } = m.int8.dots(query);
    const { scales, l1 } = m.int8;
    let qL1 = 0;
    for (let j = 0; j < m.dims; j++) qL1 += Math.abs(query[j]!);
    const lower = new TopK(q.limit);
    for (let row = 0; row < m.ids.length; row++) {
      if (!allowed(row)) continue;
      const s = scales[row]!;
      lower.offer(row, s * t * scores[row]! - (s * (t * l1[row]! + qL1)) / 2 - 1e-6);
    }
    // Every row of the true top k has a similarity ≥ the k-th best lower bound, so its upper bound
    // reaches it too: rescoring those rows exactly finds the same top k as a full float scan.
    const floor = lower.full ? lower.floor : -Infinity;
    for (let row = 0; row < m.ids.length; row++) {
      if (!allowed(row)) continue;
      const s = scales[row]!;
      if (s * t * scores[row]! + (s * (t * l1[row]! + qL1)) / 2 + 1e-6 < floor) continue;
      best.offer(row, dot(m.data, row * m.dims, query, m.dims));
    }
    return best.hits(m.ids);
  }
}

/** q · row, with four accumulators so the additions do not wait on each other. */
function dot(data: Float32Array, base: number, query: Float32Array, dims: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let j = 0;
  for (; j + 3 < dims; j += 4) {
    a0 += data[base + j]! * query[j]!;
    a1 += data[base + j + 1]! * query[j + 1]!;
    a2 += data[base + j + 2]! * query[j + 2]!;
    a3 += data[base + j + 3]! * query[j + 3]!;
  }
  for (; j < dims; j++) a0 += data[base + j]! * query[j]!;
  return a0 + a1 + a2 + a3;
}

/** The best `limit` rows seen, in a small sorted array (limit is at most a few hundred). */
class TopK {
  private readonly rows: number[] = [];
  private readonly values: number[] = [];
  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.rows.length >= this.limit;
  }

  /** The lowest value kept. */
  get floor(): number {
    return this.values[this.values.length - 1] ?? -Infinity;
  }

  offer(row: number, value: number): void {
    if (this.limit <= 0 || (this.full && value <= this.floor)) return;
    let at = this.values.length;
    while (at > 0 && this.values[at - 1]! < value) at--;
    this.rows.splice(at, 0, row);
    this.values.splice(at, 0, value);
    if (this.rows.length > this.limit) {
      this.rows.pop();
      this.values.pop();
    }
  }

  hits(ids: readonly string[]): VectorHit[] {
    return this.rows.map((row, i) => ({ chunkId: ids[row]!, similarity: this.values[i]! }));
  }
}
