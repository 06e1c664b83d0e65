import type { Db } from '../db/db.ts';

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
   * Readies the store for vectors of this size (an index), before the ingest transaction: PGlite has
   * one connection, which the transaction holds, so DDL cannot run beside it.
   */
  prepare(dims: number): Promise<void>;
  /**
   * The chunks column that holds vectors here, its SQL type, and a vector's text form for a
   * parameter cast to that type: ingest writes vectors in the same INSERT as the chunk (an UPDATE
   * afterwards would write every row twice and touch every index twice).
   */
  readonly column: 'embedding_vec' | 'embedding';
  readonly sqlType: 'vector' | 'real[]';
  literal(v: readonly number[]): string;
  search(q: VectorQuery): Promise<VectorHit[]>;
}

/** Picks the store's vector implementation: pgvector when migration 0005 could add its column. */
export async function openVectorStore(db: Db, cacheMaxChunks: number): Promise<VectorStore> {
  const rows = await db.query(
    `select 1 from information_schema.columns where table_name = 'chunks' and column_name = 'embedding_vec'`,
  );
  return rows.length > 0 ? new PgVectorStore(db) : new ExactVectorStore(db, cacheMaxChunks);
}

const asVectorText = (v: readonly number[]) => `[${v.join(',')}]`;

/**
 * pgvector: vectors of any dimension share the untyped `embedding_vec` column; each dimension in
 * use gets a partial HNSW index on a cast to `vector(N)` (HNSW needs a fixed dimension), created
 * the first time vectors of that size are written.
 */
export class PgVectorStore implements VectorStore {
  readonly kind = 'pgvector' as const;
  private readonly indexed = new Set<number>();
  private sessionSet?: Promise<void>;
  constructor(private readonly db: Db) {}

  async prepare(dims: number): Promise<void> {
    if (this.indexed.has(dims)) return;
    // `dims` is the length of a vector the embedder returned, checked to be a small integer: the
    // one value spliced into SQL text, since DDL takes no parameters.
    if (!Number.isInteger(dims) || dims < 1 || dims > 2000) throw new Error(`bad vector size ${dims}`);
    await this.db.exec(
      `create index if not exists chunks_hnsw_${dims} on chunks using hnsw ((embedding_vec::vector(${dims})) vector_cosine_ops) where embedding_dims = ${dims}`,
    );
    this.indexed.add(dims);
  }

  readonly column = 'embedding_vec' as const;
  readonly sqlType = 'vector' as const;
  literal = (v: readonly number[]) => `[${v.join(',')}]`;

  async search(q: VectorQuery): Promise<VectorHit[]> {
    const dims = q.vector.length;
    await this.prepare(dims);
    const docs = q.documentIds ? [...q.documentIds] : null;
    // The cast and the `embedding_dims` predicate repeat the index definition so the planner uses it.
    // A filtered HNSW scan keeps walking the graph until it has enough rows (pgvector iterative scans).
    const sql = `select id, 1 - (embedding_vec::vector(${dims}) <=> $1::vector(${dims})) as similarity
        from chunks
       where embedding_dims = ${dims} and knowledge_base_id = $2 and tenant_id = $3
         and ($5::uuid[] is null or document_id = any($5::uuid[]))
       order by embedding_vec::vector(${dims}) <=> $1::vector(${dims})
       limit $4`;
    const params = [asVectorText(q.vector), q.kbId, q.tenantId, q.limit, docs];
    let rows: { id: string; similarity: number }[];
    if (this.db.kind === 'pglite') {
      // One connection: session settings hold for every later query, so they are set once.
      this.sessionSet ??= this.db.exec('set hnsw.iterative_scan = relaxed_order; set hnsw.ef_search = 100');
      await this.sessionSet;
      rows = await this.db.query(sql, params);
    } else {
      rows = await this.db.transaction(async (tx) => {
        await tx.exec('set local hnsw.iterative_scan = relaxed_order; set local hnsw.ef_search = 100');
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
}

/**
 * The exact fallback: the vectors of one knowledge base are loaded once into a Float32Array and
 * scanned with dot products (rows are stored unit-length). A brute-force scan over 100k × 512 is a
 * few tens of milliseconds in JavaScript, while the same in SQL over `real[]` takes seconds. The
 * knowledge base's `revision` tells when to reload; the cache holds at most `maxChunks` vectors.
 */
export class ExactVectorStore implements VectorStore {
  readonly kind = 'exact' as const;
  private readonly cache = new Map<string, Matrix>();
  constructor(
    private readonly db: Db,
    private readonly maxChunks: number,
  ) {}

  async prepare(): Promise<void> {}

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
      data.set(r.embedding.map(Number), i * dims);
    });
    const m: Matrix = {
      revision: q.revision,
      dims,
      ids: rows.map((r) => r.id),
      docIds: rows.map((r) => r.document_id),
      data,
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
    const { dims, data } = m;
    const query = Float32Array.from(q.vector);
    // Keeps the best `limit` in a small sorted array: limit is at most a few hundred.
    const best: VectorHit[] = [];
    let floor = -Infinity;
    for (let row = 0; row < m.ids.length; row++) {
      if (q.documentIds && !q.documentIds.has(m.docIds[row]!)) continue;
      let dot = 0;
      const base = row * dims;
      for (let j = 0; j < dims; j++) dot += data[base + j]! * query[j]!;
      if (best.length >= q.limit && dot <= floor) continue;
      let at = best.length;
      while (at > 0 && best[at - 1]!.similarity < dot) at--;
      best.splice(at, 0, { chunkId: m.ids[row]!, similarity: dot });
      if (best.length > q.limit) best.pop();
      floor = best[best.length - 1]!.similarity;
    }
    return best;
  }
}
