import type { Db } from '../db/db.ts';
import type { EmbedContext, Embedder } from './embeddings.ts';
import { normalise } from './embeddings.ts';
import type { KbRecord } from './knowledge-bases.ts';
import type { FusionMethod, FusionWeights, SearchHit, SearchInput, SearchResult } from './schema.ts';
import { beforeTextSearch } from './upkeep.ts';
import type { VectorStore } from './vectors.ts';

/** What searching needs: the store, the vectors, and the embedder when there is one. */
export interface SearchDeps {
  db: Db;
  vectors: VectorStore;
  embedder?: Embedder;
  /** Hybrid search's configured fusion (config `memory.fusion`); score fusion at its defaults when absent. */
  fusion?: FusionConfig;
}

/** How hybrid search fuses its two lists, with each list's weight where set (else the method's default). */
export interface FusionConfig {
  method: FusionMethod;
  text?: number;
  vector?: number;
}

/**
 * Each fusion's default weights, measured with `npm run eval:memory` (offline embedder; LoCoMo
 * conversations 26 and 30, 302 questions / notes set, 40), hit@5 and MRR. Full-text 0.609 / 0.650
 * (MRR 0.486 / 0.604), vector 0.272 / 0.975 (MRR 0.180 / 0.856). Score fusion at 1:3 0.639 / 0.975
 * (MRR 0.496 / 0.893): at or above the better list on both sets; at 1:2.5 the notes set drops to
 * 0.950, at 1:3.5 LoCoMo to 0.632. Weighted RRF at 1:0.3 0.566 / 0.950 (MRR 0.413 / 0.838), and
 * in a sweep no RRF weighting reached the better list on both sets: one that lets the vector list
 * win the notes set (1:8 and up) costs LoCoMo a quarter of its hits. See `fuseScores`.
 */
export const DEFAULT_WEIGHTS: Record<FusionMethod, FusionWeights> = {
  score: { text: 1, vector: 3 },
  rrf: { text: 1, vector: 0.3 },
};

/** The fusion a search runs: the request's method and weights, else the configured ones, else the defaults. */
export function fusionFor(
  input: Pick<SearchInput, 'fusion' | 'weights'>,
  config: FusionConfig | undefined,
): { method: FusionMethod; weights: FusionWeights } {
  const method = input.fusion ?? config?.method ?? 'score';
  const byDefault = DEFAULT_WEIGHTS[method] ?? DEFAULT_WEIGHTS.score;
  // Configured weights belong to the configured method: a request that picks the other one gets its defaults.
  const configured = config?.method === method ? config : undefined;
  const weights = input.weights ?? {
    text: configured?.text ?? byDefault.text,
    vector: configured?.vector ?? byDefault.vector,
  };
  return { method, weights };
}

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

/** A full-text candidate: its share of the query's idf (`chunk_text_candidates`, migration 0026). */
export interface TextCandidate {
  id: string;
  score: number;
}
/** A vector candidate: its cosine similarity to the query. */
export interface VectorCandidate {
  id: string;
  similarity: number;
}

/**
 * Vector candidates score fusion reads: past the first twenty, a chunk's similarity counts as the
 * twentieth's, which is what a chunk the vector list did not find counts as anyway. Reading 50
 * similarities instead moved LoCoMo hit@5 by 0.003 and costs PGlite a TOAST read per row.
 */
export const SCORED_VECTORS = 20;

/** How far full-text's confidence turns the vector list down (see `fuseScores`). */
const TEXT_TRUST = 0.9;

/**
 * Score fusion: each chunk's full-text score (the share of the query's idf it contains, 0 to 1)
 * times the text weight, plus its cosine similarity times the vector weight scaled by
 * (1 − 0.9 × c), where c is the best full-text score: the more of the query full-text's best match
 * covers, the less the vector list counts. A chunk missing from the vector list counts the list's
 * lowest similarity; one missing from full-text counts 0. Ties go to the better full-text rank,
 * then the better vector rank. Rank fusion cannot do this: it sees neither how much of the query
 * full-text matched nor how far the nearest chunk stands from the rest, so one weighting has to
 * suit a knowledge base where the embedder separates the answers (the notes set: vector hit@5
 * 0.975 against full-text 0.650) and one where it does not (LoCoMo: 0.272 against 0.609).
 */
export function fuseScores(
  text: readonly TextCandidate[],
  vector: readonly VectorCandidate[],
  weights: FusionWeights,
): Fused[] {
  const cover = text.reduce((m, t) => Math.max(m, t.score), 0);
  const floor = vector.length > 0 ? Math.min(...vector.map((v) => v.similarity)) : 0;
  const vectorWeight = weights.vector * (1 - TEXT_TRUST * cover);
  const byId = new Map<string, { t: number | null; v: number | null; ts: number; vs: number }>();
  text.forEach((c, i) => {
    byId.set(c.id, { t: i + 1, v: null, ts: c.score, vs: floor });
  });
  vector.forEach((c, i) => {
    const e = byId.get(c.id) ?? { t: null, v: null, ts: 0, vs: floor };
    e.v = i + 1;
    e.vs = c.similarity;
    byId.set(c.id, e);
  });
  const last = Number.MAX_SAFE_INTEGER;
  return [...byId]
    .map(([id, e]) => ({ id, score: weights.text * e.ts + vectorWeight * e.vs, ranks: [e.t, e.v] }))
    .sort(
      (a, b) =>
        b.score - a.score ||
        (a.ranks[0] ?? last) - (b.ranks[0] ?? last) ||
        (a.ranks[1] ?? last) - (b.ranks[1] ?? last) ||
        a.id.localeCompare(b.id),
    );
}

/** The two lists fused by `method`: `fuseScores`, or weighted RRF over their orders. */
export function fuseLists(
  method: FusionMethod,
  text: readonly TextCandidate[],
  vector: readonly VectorCandidate[],
  weights: FusionWeights,
): Fused[] {
  if (method === 'score') return fuseScores(text, vector, weights);
  return fuseRrf([text.map((t) => t.id), vector.map((v) => v.id)], [weights.text, weights.vector]);
}

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
 * (quotes, `-`, `or`); any of its words may match (its `&` become `|`). Each candidate's score is the
 * share of the query's words it has, each word weighted by its rarity (idf), `ts_rank` ordering
 * equals (migration 0026). Gathering and ranking run inside the database in one round trip
 * (`chunk_text_candidates`, migration 0010), with the ranking work bounded by `TEXT_RANK_CAP`.
 */
export async function textCandidates(
  db: Db,
  kb: Pick<KbRecord, 'id' | 'tenant_id'>,
  query: string,
  limit: number,
  docs: string[] | null,
): Promise<TextCandidate[]> {
  const rows = await db.query<TextCandidate>(
    'select id, score from chunk_text_candidates($1, $2, $3, $4::uuid[], $5, $6) order by ord',
    [query, kb.id, kb.tenant_id, docs, limit, Math.max(TEXT_RANK_CAP, limit)],
  );
  return rows.map((r) => ({ id: r.id, score: Number(r.score) }));
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

/** Hybrid search in one knowledge base: full-text and vector candidates, fused (`fuseLists`). */
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
  const { method, weights } = fusionFor(input, deps.fusion);
  const said: Omit<SearchResult, 'data'> = {
    mode,
    ...(mode === 'hybrid' && { fusion: method, weights: { text: weights.text, vector: weights.vector } }),
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
  // Score fusion reads the similarities of the nearest `SCORED_VECTORS` only (and at least top_k).
  const vectorDepth = mode === 'hybrid' && method === 'score' ? Math.max(SCORED_VECTORS, input.top_k) : depth;
  if (queryVector && mode === 'hybrid') {
    const data = await hybridInOneStatement(deps, kb, input, docs, depth, vectorDepth, queryVector, {
      method,
      weights,
    });
    if (data) return { data, ...said };
  }
  const [text, vector] = await Promise.all([
    mode !== 'vector' ? textCandidates(db, kb, input.query, depth, docs) : Promise.resolve([]),
    queryVector
      ? vectors
          .search({
            tenantId: kb.tenant_id,
            kbId: kb.id,
            revision: kb.revision,
            vector: queryVector,
            limit: vectorDepth,
            documentIds: docs ? new Set(docs) : undefined,
          })
          .then((hits) => hits.map((h) => ({ id: h.chunkId, similarity: h.similarity })))
      : Promise.resolve([]),
  ]);

  // One list alone keeps its own order; two are fused.
  const fused = (
    mode === 'hybrid'
      ? fuseLists(method, text, vector, weights)
      : fuseRrf([text.map((t) => t.id), vector.map((v) => v.id)])
  ).slice(0, input.top_k);
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
 * candidates, their fusion (as `fuseScores` or `fuseRrf`, ties alike) and the hits' rows in one round
 * trip. Undefined where the store cannot.
 */
async function hybridInOneStatement(
  deps: SearchDeps,
  kb: KbRecord,
  input: SearchInput,
  docs: string[] | null,
  depth: number,
  vectorDepth: number,
  queryVector: number[],
  fusion: { method: FusionMethod; weights: FusionWeights },
): Promise<SearchHit[] | undefined> {
  const byScore = fusion.method === 'score';
  const nearest = await deps.vectors.candidatesSql(
    queryVector,
    { vector: '$7', kb: '$2::uuid', tenant: '$3::uuid', docs: '$4', limit: '$11' },
    byScore,
  );
  if (!nearest) return undefined;
  // Score fusion as `fuseScores`: k.c is the best full-text score, k.m the lowest similarity read.
  const fuse = byScore
    ? `select coalesce(t.id, v.id) as id,
              $9::float8 * coalesce(t.score, 0)
                + $10::float8 * (1 - ${TEXT_TRUST} * k.c) * coalesce(v.similarity, k.m) as score,
              t.ord as t, v.ord as v
         from t full join v on v.id = t.id
        cross join (select (select coalesce(max(score), 0) from t) as c,
                           (select coalesce(min(similarity), 0) from v) as m) k
        order by 2 desc, t.ord nulls last, v.ord nulls last, 1 limit $8`
    : `select id, sum((case when list = 0 then $9::float8 else $10::float8 end) / (${RRF_K} + ord)) as score,
              min(ord) filter (where list = 0) as t, min(ord) filter (where list = 1) as v
         from (select id, ord, 0 as list from t union all select id, ord, 1 from v) l
        group by id order by score desc, id limit $8`;
  const rows = await deps.db.query<
    HitRow & { position: number; score: number; t: number | null; v: number | null }
  >(
    `with t as (select id, ord, score from chunk_text_candidates($1, $2, $3, $4::uuid[], $5, $6)),
          v as (${nearest.sql}),
          f as (${fuse})
     select c.id, c.content, c.heading_path, c.position, d.id as document_id, d.source, d.title, d.metadata,
            f.score, f.t, f.v
       from f join chunks c on c.id = f.id join documents d on d.id = c.document_id
      order by ${byScore ? 'f.score desc, f.t nulls last, f.v nulls last, f.id' : 'f.score desc, f.id'}`,
    [
      input.query,
      kb.id,
      kb.tenant_id,
      docs,
      depth,
      Math.max(TEXT_RANK_CAP, depth),
      nearest.vectorParam,
      input.top_k,
      fusion.weights.text,
      fusion.weights.vector,
      vectorDepth,
    ],
  );
  const fused = rows.map((r) => ({
    id: r.id,
    score: r.score,
    ranks: [r.t === null ? null : Number(r.t), r.v === null ? null : Number(r.v)],
  }));
  return hitsInFusedOrder(fused, new Map(rows.map((r) => [r.id, r])), (r) => ({ position: r.position }));
}
