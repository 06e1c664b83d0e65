import type { Db } from '../db/db.ts';
import type { EmbedContext, Embedder } from './embeddings.ts';
import { normalise } from './embeddings.ts';
import type { KbRecord } from './knowledge-bases.ts';
import type { FusionWeights, SearchHit, SearchInput, SearchResult } from './schema.ts';
import { beforeTextSearch } from './upkeep.ts';
import type { VectorStore } from './vectors.ts';

/** What searching needs: the store, the vectors, and the embedder when there is one. */
export interface SearchDeps {
  db: Db;
  vectors: VectorStore;
  embedder?: Embedder;
  /** Hybrid search's default list weights (config `memory.fusion`); DEFAULT_FUSION when absent. */
  fusion?: FusionWeights;
}

/**
 * The default weights of weighted RRF, measured with `npm run eval:memory` (offline embedder, LoCoMo
 * subset of 302 questions / notes set of 40): hit@5 text 0.549 / 0.650, vector 0.265 / 0.975; hybrid
 * at 1:1 0.507 / 0.950 (the weak vector list pushed full-text's finds down), at 1:0.5 0.530 / 0.950,
 * at 1:0.3 0.559 / 0.950, at 1:0.1 0.549 / 0.950. 1:0.3 is the one weighting at or above full-text on
 * LoCoMo that keeps the notes set's gain.
 */
export const DEFAULT_FUSION: FusionWeights = { text: 1, vector: 0.3 };

/** What the search response says when no embedding provider is configured. */
export const VECTOR_OFF_HOW =
  'set AGENTRY_EMBEDDINGS=offline (the built-in offline embedder), or AGENTRY_EMBEDDINGS=gateway with ' +
  'AGENTRY_EMBEDDINGS_MODEL=<provider/model> for an OpenAI-compatible /v1/embeddings endpoint';
export const VECTOR_OFF_NOTICE = `vector search is off (no embedding provider configured), so search ran full-text only; to turn it on, ${VECTOR_OFF_HOW}`;

/** Reciprocal rank fusion's constant (Cormack et al. 2009): damps the weight of the very top ranks. */
const RRF_K = 60;

/**
 * Fuses ranked lists of ids by weighted reciprocal rank fusion: score = Σ w_list / (k + rank).
 * Ranks, not raw scores, are combined, so `ts_rank` and cosine similarity need no common scale; the
 * weights let a weaker list add its finds without pushing the stronger list's best ones down.
 */
export function fuseRrf(
  lists: readonly (readonly string[])[],
  weights: readonly number[] = lists.map(() => 1),
  k = RRF_K,
): { id: string; score: number; ranks: (number | null)[] }[] {
  const byId = new Map<string, { id: string; score: number; ranks: (number | null)[] }>();
  lists.forEach((list, li) => {
    list.forEach((id, i) => {
      let e = byId.get(id);
      if (!e) {
        e = { id, score: 0, ranks: lists.map(() => null) };
        byId.set(id, e);
      }
      e.ranks[li] = i + 1;
      e.score += (weights[li] ?? 1) / (k + i + 1);
    });
  });
  return [...byId.values()].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

type Fused = ReturnType<typeof fuseRrf>[number];

/** What a hit needs from its chunk's row: the chunk's text and its document. */
export interface HitRow {
  id: string;
  content: string;
  heading_path: string[];
  document_id: string;
  title: string;
  source: string;
  metadata: Record<string, unknown>;
}

/**
 * Hits in fused order from the rows read for them, each with the fields `extra` takes from its row;
 * a chunk deleted between the candidate query and the read has no row and is left out.
 */
export function hitsInFusedOrder<R extends HitRow, E extends object>(
  fused: readonly Fused[],
  rows: ReadonlyMap<string, R>,
  extra: (row: R) => E,
): (Omit<SearchHit, 'position'> & E)[] {
  const hits: (Omit<SearchHit, 'position'> & E)[] = [];
  for (const f of fused) {
    const r = rows.get(f.id);
    if (!r) continue;
    hits.push({
      chunk_id: r.id,
      content: r.content,
      heading_path: r.heading_path,
      ...extra(r),
      score: f.score,
      text_rank: f.ranks[0] ?? null,
      vector_rank: f.ranks[1] ?? null,
      document: { id: r.document_id, source: r.source, title: r.title, metadata: r.metadata },
    });
  }
  return hits;
}

/**
 * Most full-text matches ranked per query. Ranking reads each match's tsvector (out of line, in
 * TOAST), and a query with one common word matches much of a large knowledge base; so candidates
 * are gathered from the rarest words first, up to this many, and only those are ranked (see
 * migration 0010). Six times the usual depth: rare words are covered in full far beyond it.
 */
export const TEXT_RANK_CAP = 300;

/**
 * Full-text candidates, best first. `websearch_to_tsquery` parses the query as people type it
 * (quotes, `-`, `or`); any of its words may match (its `&` become `|`), and `ts_rank` orders by how
 * many and how often. Gathering and ranking run inside the database in one round trip
 * (`chunk_text_candidates`, migration 0010), with the ranking work bounded by `TEXT_RANK_CAP`.
 */
export async function textCandidates(
  db: Db,
  kb: Pick<KbRecord, 'id' | 'tenant_id'>,
  query: string,
  limit: number,
  docs: string[] | null,
): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    'select id from chunk_text_candidates($1, $2, $3, $4::uuid[], $5, $6) order by ord',
    [query, kb.id, kb.tenant_id, docs, limit, Math.max(TEXT_RANK_CAP, limit)],
  );
  return rows.map((r) => r.id);
}

/** The documents the filters allow, or null for all of them. */
async function allowedDocs(db: Db, kb: KbRecord, input: SearchInput): Promise<string[] | null> {
  const { document_ids, metadata } = input.filters;
  if (!document_ids && !metadata) return null;
  const rows = await db.query<{ id: string }>(
    `select id from documents where knowledge_base_id = $1 and tenant_id = $2
       and ($3::uuid[] is null or id = any($3::uuid[])) and ($4::jsonb is null or metadata @> $4::jsonb)`,
    [kb.id, kb.tenant_id, document_ids ?? null, metadata ? JSON.stringify(metadata) : null],
  );
  return rows.map((r) => r.id);
}

/** Hybrid search in one knowledge base: full-text and vector candidates, fused by RRF. */
export async function searchKnowledgeBase(
  deps: SearchDeps,
  kb: KbRecord,
  input: SearchInput,
  ctx: EmbedContext,
): Promise<SearchResult> {
  const result = await searchRanked(deps, kb, input, ctx);
  if (input.explain && result.data.length > 0) await explainScores(deps, kb, input.query, ctx, result.data);
  return result;
}

async function searchRanked(
  deps: SearchDeps,
  kb: KbRecord,
  input: SearchInput,
  ctx: EmbedContext,
): Promise<SearchResult> {
  const { db, vectors, embedder } = deps;
  // Without an embedding provider there is only the full-text list: search still answers, and says so.
  const mode = embedder ? input.mode : 'text';
  const weights = input.weights ?? deps.fusion ?? DEFAULT_FUSION;
  const said: Omit<SearchResult, 'data'> = {
    mode,
    ...(mode === 'hybrid' && { weights: { text: weights.text, vector: weights.vector } }),
    vector_search: embedder ? 'on' : 'off',
    ...(!embedder && input.mode !== 'text' && { notice: VECTOR_OFF_NOTICE }),
  };
  const depth = Math.max(50, input.top_k * 4);
  const docs = await allowedDocs(db, kb, input);
  if (docs && docs.length === 0) return { data: [], ...said };
  if (mode !== 'vector') await beforeTextSearch(db);
  // The query is embedded first; then both candidate lists are fetched at once (on PostgreSQL they
  // run on two pooled connections).
  const queryVector =
    mode !== 'text' && embedder ? normalise((await embedder.embed([input.query], ctx))[0]!) : undefined;
  if (queryVector && mode === 'hybrid') {
    const data = await hybridInOneStatement(deps, kb, input, docs, depth, queryVector, weights);
    if (data) return { data, ...said };
  }
  const lists = await Promise.all([
    mode !== 'vector' ? textCandidates(db, kb, input.query, depth, docs) : Promise.resolve([]),
    queryVector
      ? vectors
          .search({
            tenantId: kb.tenant_id,
            kbId: kb.id,
            revision: kb.revision,
            vector: queryVector,
            limit: depth,
            documentIds: docs ? new Set(docs) : undefined,
          })
          .then((hits) => hits.map((h) => h.chunkId))
      : Promise.resolve([]),
  ]);

  const fused = fuseRrf(lists, [weights.text, weights.vector]).slice(0, input.top_k);
  if (fused.length === 0) return { data: [], ...said };
  const rows = await db.query<HitRow & { position: number }>(
    `select c.id, c.content, c.heading_path, c.position, d.id as document_id, d.source, d.title, d.metadata
       from chunks c join documents d on d.id = c.document_id
      where c.id = any($1::uuid[]) and c.tenant_id = $2`,
    [fused.map((f) => f.id), kb.tenant_id],
  );
  const data = hitsInFusedOrder(fused, new Map(rows.map((r) => [r.id, r])), (r) => ({
    position: r.position,
  }));
  return { data, ...said };
}

/**
 * Fills each hit's own score in each list, read for the hits only (at most `top_k` rows): the
 * full-text rank as `chunk_text_candidates` ranks (any of the query's words), and the cosine
 * similarity of the stored vector to the query's.
 */
async function explainScores(
  deps: SearchDeps,
  kb: KbRecord,
  query: string,
  ctx: EmbedContext,
  hits: SearchHit[],
): Promise<void> {
  const rows = await deps.db.query<{ id: string; text_score: number; vec: number[] | null }>(
    `select id, ts_rank(tsv, replace(websearch_to_tsquery('english', $1)::text, '&', '|')::tsquery)::float8 as text_score,
            ${deps.vectors.column}::real[] as vec
       from chunks where id = any($2::uuid[]) and tenant_id = $3`,
    [query, hits.map((h) => h.chunk_id), kb.tenant_id],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const q = deps.embedder ? normalise((await deps.embedder.embed([query], ctx))[0]!) : undefined;
  for (const h of hits) {
    const r = byId.get(h.chunk_id);
    h.text_score = r ? r.text_score : null;
    h.vector_score = q && r?.vec && r.vec.length === q.length ? cosine(q, r.vec) : null;
  }
}

function cosine(unit: readonly number[], v: readonly number[]): number {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    dot += unit[i]! * v[i]!;
    norm += v[i]! * v[i]!;
  }
  return norm === 0 ? 0 : dot / Math.sqrt(norm);
}

/**
 * Hybrid search as one statement, where the vector store can put its candidates inside one (PGlite,
 * whose single connection runs the two lists one after the other anyway): full-text and vector
 * candidates, their fusion by RRF (as `fuseRrf`, ties by id) and the hits' rows in one round trip.
 * Undefined where the store cannot.
 */
async function hybridInOneStatement(
  deps: SearchDeps,
  kb: KbRecord,
  input: SearchInput,
  docs: string[] | null,
  depth: number,
  queryVector: number[],
  weights: FusionWeights,
): Promise<SearchHit[] | undefined> {
  const nearest = await deps.vectors.candidatesSql(queryVector, {
    vector: '$7',
    kb: '$2::uuid',
    tenant: '$3::uuid',
    docs: '$4',
    limit: '$5',
  });
  if (!nearest) return undefined;
  const rows = await deps.db.query<
    HitRow & { position: number; score: number; t: number | null; v: number | null }
  >(
    `with t as (select id, ord from chunk_text_candidates($1, $2, $3, $4::uuid[], $5, $6)),
          v as (${nearest.sql}),
          f as (select id, sum((case when list = 0 then $9::float8 else $10::float8 end) / (${RRF_K} + ord)) as score,
                       min(ord) filter (where list = 0) as t, min(ord) filter (where list = 1) as v
                  from (select id, ord, 0 as list from t union all select id, ord, 1 from v) l
                 group by id order by score desc, id limit $8)
     select c.id, c.content, c.heading_path, c.position, d.id as document_id, d.source, d.title, d.metadata,
            f.score, f.t, f.v
       from f join chunks c on c.id = f.id join documents d on d.id = c.document_id
      order by f.score desc, f.id`,
    [
      input.query,
      kb.id,
      kb.tenant_id,
      docs,
      depth,
      Math.max(TEXT_RANK_CAP, depth),
      nearest.vectorParam,
      input.top_k,
      weights.text,
      weights.vector,
    ],
  );
  const fused = rows.map((r) => ({
    id: r.id,
    score: r.score,
    ranks: [r.t === null ? null : Number(r.t), r.v === null ? null : Number(r.v)],
  }));
  return hitsInFusedOrder(fused, new Map(rows.map((r) => [r.id, r])), (r) => ({ position: r.position }));
}
