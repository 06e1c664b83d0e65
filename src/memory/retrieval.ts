import type { Db } from '../db/db.ts';
import type { EmbedContext } from './embeddings.ts';
import { normalise } from './embeddings.ts';
import type { KbKind, SearchHit } from './schema.ts';
import {
  fuseLists,
  fusionFor,
  type HitRow,
  hitsInFusedOrder,
  SCORED_VECTORS,
  type SearchDeps,
  TEXT_RANK_CAP,
  type VectorCandidate,
} from './search.ts';
import { beforeTextSearch } from './upkeep.ts';
import type { VectorStore } from './vectors.ts';

/**
 * Memory as the agent loop reads it: an agent's bound knowledge bases (by name or id, always within
 * the run's tenant), the full text of its persona knowledge bases, and chunks retrieved from the
 * others for one message. Retrieval never looks beyond the knowledge bases it is given, so an agent
 * only ever sees chunks of its own bindings.
 */

export interface BoundKb {
  id: string;
  name: string;
  kind: KbKind;
  revision: number;
}

/** A search hit (without its position in the document) and the knowledge base it came from. */
export type RetrievedChunk = Omit<SearchHit, 'position'> & { knowledge_base: { id: string; name: string } };

/** The tenant's knowledge bases named by `refs` (ids or names), in binding order, and the refs not found. */
export async function resolveBindings(
  db: Db,
  tenantId: string,
  refs: readonly string[],
): Promise<{ bound: BoundKb[]; missing: string[] }> {
  const rows = await db.query<{ id: string; name: string; kind: KbKind; revision: string | number }>(
    `select id, name, kind, revision from knowledge_bases
      where tenant_id = $1 and (id::text = any($3::text[]) or name = any($2::text[]))`,
    [tenantId, refs, refs.map((r) => r.toLowerCase())],
  );
  const bound: BoundKb[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const row = rows.find((r) => r.id === ref.toLowerCase() || r.name === ref);
    if (!row) missing.push(ref);
    else if (!seen.has(row.id)) {
      seen.add(row.id);
      bound.push({ id: row.id, name: row.name, kind: row.kind, revision: Number(row.revision) });
    }
  }
  return { bound, missing };
}

/**
 * The whole text of one knowledge base, document by document, rebuilt from its chunks: a heading
 * line where the heading path changes, and the overlap each chunk repeats from the one before
 * removed (it is a suffix of the previous chunk followed by a paragraph break).
 */
export async function knowledgeBaseText(
  db: Db,
  tenantId: string,
  kbId: string,
): Promise<{ text: string; documents: { id: string; title: string }[] }> {
  const rows = await db.query<{
    document_id: string;
    title: string;
    heading_path: string[];
    content: string;
  }>(
    `select c.document_id, d.title, c.heading_path, c.content
       from chunks c join documents d on d.id = c.document_id
      where c.knowledge_base_id = $1 and c.tenant_id = $2
      order by d.source, c.position`,
    [kbId, tenantId],
  );
  const parts: string[] = [];
  const documents: { id: string; title: string }[] = [];
  let prev: (typeof rows)[number] | undefined;
  for (const r of rows) {
    const sameDoc = prev?.document_id === r.document_id;
    if (!sameDoc) documents.push({ id: r.document_id, title: r.title });
    const path = r.heading_path.join(' > ');
    const samePath = sameDoc && prev!.heading_path.join(' > ') === path;
    let content = r.content;
    if (samePath) content = withoutOverlap(prev!.content, content);
    else if (path) parts.push(`## ${path}`);
    if (content) parts.push(content);
    prev = r;
  }
  return { text: parts.join('\n\n'), documents };
}

function withoutOverlap(previous: string, next: string): string {
  let best = -1;
  for (let at = next.indexOf('\n\n'); at >= 0; at = next.indexOf('\n\n', at + 1)) {
    if (previous.endsWith(next.slice(0, at))) best = at;
  }
  return best < 0 ? next : next.slice(best + 2);
}

interface ChunkRow extends HitRow {
  knowledge_base_id: string;
  /** Its full-text score: the share of the query's idf it has (migration 0026). */
  score: number;
}

const chunkColumns =
  'c.id, c.content, c.heading_path, c.knowledge_base_id, d.id as document_id, d.title, d.source, d.metadata';

/**
 * Full-text candidates across several knowledge bases, with their text: any of the query's words
 * matches (as in search.ts). Each knowledge base's candidates come from `chunk_text_candidates`
 * (migration 0010: rarest words first, ranking work bounded by TEXT_RANK_CAP), so a chat message full
 * of common words stays cheap on a large base; the union is ranked by each candidate's share of the
 * query's idf in its own base (migration 0026), then by `ts_rank`, which every base computes alike.
 * Without vectors this one query is the whole retrieval.
 */
async function textCandidates(
  db: Db,
  tenantId: string,
  kbIds: string[],
  query: string,
  limit: number,
): Promise<ChunkRow[]> {
  return db.query<ChunkRow>(
    `with q as (select nullif(replace(websearch_to_tsquery('english', $1)::text, '&', '|'), '')::tsquery as q)
     select ${chunkColumns}, t.score
       from unnest($2::uuid[]) as k(id)
       cross join lateral chunk_text_candidates($1, k.id, $3, null, $4, $5) t
       join chunks c on c.id = t.id and c.tenant_id = $3
       join documents d on d.id = c.document_id, q
      order by t.score desc, ts_rank(c.tsv, q.q) desc, c.id
      limit $4`,
    [query, kbIds, tenantId, limit, Math.max(TEXT_RANK_CAP, limit)],
  );
}

/** Vector candidates: each knowledge base's nearest chunks, merged by similarity. */
async function vectorCandidates(
  vectors: VectorStore,
  tenantId: string,
  kbs: readonly BoundKb[],
  vector: number[],
  limit: number,
): Promise<VectorCandidate[]> {
  const lists = await Promise.all(
    kbs.map((kb) => vectors.search({ tenantId, kbId: kb.id, revision: kb.revision, vector, limit })),
  );
  return lists
    .flat()
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, limit)
    .map((h) => ({ id: h.chunkId, similarity: h.similarity }));
}

/**
 * Hybrid retrieval over the given knowledge bases (all of one tenant): the query is embedded once,
 * full-text candidates come from one query over all of them, vector candidates from each, and the
 * two lists are fused as search fuses them (the configured method, `fuseLists`).
 */
export async function retrieveChunks(
  deps: SearchDeps,
  tenantId: string,
  kbs: readonly BoundKb[],
  query: string,
  topK: number,
  ctx: EmbedContext,
): Promise<{ chunks: RetrievedChunk[]; mode: 'hybrid' | 'text'; warning?: string }> {
  const { db, vectors, embedder } = deps;
  if (kbs.length === 0 || !query.trim()) return { chunks: [], mode: embedder ? 'hybrid' : 'text' };
  const depth = Math.max(50, topK * 4);
  let queryVector: number[] | undefined;
  let warning: string | undefined;
  if (embedder) {
    // An embedding provider that fails costs the vector half of retrieval, not the turn.
    try {
      queryVector = normalise((await embedder.embed([query], ctx))[0]!);
    } catch (err) {
      warning = `query embedding failed (${err instanceof Error ? err.message : String(err)}); full-text only`;
    }
  }
  const mode = queryVector ? 'hybrid' : 'text';
  const kbIds = kbs.map((k) => k.id);
  await beforeTextSearch(db);
  // Words alone: the full-text order is the answer, so only the top rows are read.
  const { method, weights } = fusionFor({}, deps.fusion);
  const vectorDepth = method === 'score' ? Math.max(SCORED_VECTORS, topK) : depth;
  const [textRows, vectorList] = await Promise.all([
    textCandidates(db, tenantId, kbIds, query, queryVector ? depth : topK),
    queryVector ? vectorCandidates(vectors, tenantId, kbs, queryVector, vectorDepth) : Promise.resolve([]),
  ]);
  const fused = fuseLists(
    method,
    textRows.map((r) => ({ id: r.id, score: Number(r.score) })),
    vectorList,
    weights,
  ).slice(0, topK);
  const byId = new Map(textRows.map((r) => [r.id, r]));
  const unread = fused.filter((f) => !byId.has(f.id)).map((f) => f.id);
  if (unread.length > 0) {
    const rows = await db.query<ChunkRow>(
      `select ${chunkColumns} from chunks c join documents d on d.id = c.document_id
        where c.id = any($1::uuid[]) and c.tenant_id = $2 and c.knowledge_base_id = any($3::uuid[])`,
      [unread, tenantId, kbIds],
    );
    for (const r of rows) byId.set(r.id, r);
  }
  const names = new Map(kbs.map((k) => [k.id, k.name]));
  const chunks: RetrievedChunk[] = hitsInFusedOrder(fused, byId, (r) => ({
    knowledge_base: { id: r.knowledge_base_id, name: names.get(r.knowledge_base_id) ?? '' },
  }));
  return { chunks, mode, ...(warning && { warning }) };
}
