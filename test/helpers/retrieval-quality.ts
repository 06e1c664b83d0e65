/**
 * Retrieval quality through the real Memory module: a set of documents ingested into one knowledge
 * base, every question searched in each variant (a mode, with fusion weights for hybrid), and per
 * variant and per question category: hit@5 (an evidence document among the first five), recall@5
 * (the share of its evidence documents among the first five) and MRR (1 / rank of the first evidence
 * document within the first ten). Shared by bench/memory-quality.ts (`npm run eval:memory`),
 * bench/memory.ts and test/memory/quality.test.ts.
 */
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import type { Embedder } from '../../src/memory/embeddings.ts';
import { Memory } from '../../src/memory/memory.ts';
import type { SearchInput } from '../../src/memory/schema.ts';
import { notes, questions } from '../memory/fixtures/notes-set.ts';

export interface EvalDocument {
  source: string;
  text: string;
  metadata?: Record<string, unknown>;
}
export interface EvalQuestion {
  query: string;
  category: string;
  /** Sources of the documents that answer it. */
  evidence: string[];
}
export interface EvalSet {
  name: string;
  documents: EvalDocument[];
  questions: EvalQuestion[];
}
/** One way of searching: a name and what it sets on the search request. */
export interface Variant {
  name: string;
  search: Partial<SearchInput>;
}
export interface Scores {
  n: number;
  hit5: number;
  recall5: number;
  mrr: number;
}
export interface VariantScores {
  variant: string;
  /** What the search said ran (mode, and fusion method and weights for hybrid). */
  ran: string;
  all: Scores;
  byCategory: Record<string, Scores>;
}

export const defaultVariants: Variant[] = [
  { name: 'text', search: { mode: 'text' } },
  { name: 'vector', search: { mode: 'vector' } },
  { name: 'hybrid', search: { mode: 'hybrid' } },
];

const round3 = (x: number) => Math.round(x * 1000) / 1000;

class Tally {
  private n = 0;
  private hit5 = 0;
  private recall5 = 0;
  private rr = 0;
  add(ranks: number[], evidence: number): void {
    this.n += 1;
    const top5 = ranks.filter((r) => r < 5).length;
    if (top5 > 0) this.hit5 += 1;
    this.recall5 += top5 / evidence;
    if (ranks.length > 0) this.rr += 1 / (Math.min(...ranks) + 1);
  }
  scores(): Scores {
    const n = this.n || 1;
    return {
      n: this.n,
      hit5: round3(this.hit5 / n),
      recall5: round3(this.recall5 / n),
      mrr: round3(this.rr / n),
    };
  }
}

/** Opens a Memory on `db` (already migrated) in a tenant of its own, with one knowledge base. */
async function evalBase(db: Db, embedder: Embedder | undefined) {
  const tenantId = newId();
  await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, `eval-${tenantId.slice(-6)}`]);
  const who = { tenantId, actor: 'system' };
  const memory = await Memory.open(db, {
    chunking: { maxChars: 1200, overlapChars: 200 },
    maxDocumentBytes: 1024 * 1024,
    vectorCacheChunks: 100_000,
    embedder,
  });
  const kb = await memory.knowledgeBases.create(
    tenantId,
    { name: 'eval', kind: 'domain', description: '', metadata: {} },
    who,
  );
  return { memory, tenantId, kbId: kb.id, who, ctx: { tenantId, tenantName: 'eval' } };
}

/** Ingests `set` into a fresh knowledge base and scores every variant on its questions. */
export async function evaluate(
  db: Db,
  embedder: Embedder | undefined,
  set: EvalSet,
  variants: readonly Variant[] = defaultVariants,
  onProgress?: (done: number, total: number) => void,
): Promise<VariantScores[]> {
  const { memory, tenantId, kbId, who, ctx } = await evalBase(db, embedder);
  const batch = 200;
  for (let i = 0; i < set.documents.length; i += batch) {
    await memory.ingestMany(
      tenantId,
      kbId,
      set.documents
        .slice(i, i + batch)
        .map((d) => ({ source: d.source, bytes: Buffer.from(d.text), metadata: d.metadata ?? {} })),
      ctx,
      who,
    );
    onProgress?.(Math.min(i + batch, set.documents.length), set.documents.length);
  }
  const out: VariantScores[] = [];
  for (const v of variants) {
    const all = new Tally();
    const byCategory = new Map<string, Tally>();
    let ran = '';
    for (const q of set.questions) {
      const res = await memory.search(
        tenantId,
        kbId,
        { query: q.query, top_k: 10, mode: 'hybrid', filters: {}, ...v.search },
        ctx,
      );
      ran = res.weights ? `${res.mode} ${res.fusion} ${res.weights.text}:${res.weights.vector}` : res.mode;
      const evidence = new Set(q.evidence);
      const ranks: number[] = [];
      res.data.forEach((h, i) => {
        if (evidence.delete(h.document.source)) ranks.push(i);
      });
      all.add(ranks, q.evidence.length);
      const t = byCategory.get(q.category) ?? new Tally();
      byCategory.set(q.category, t);
      t.add(ranks, q.evidence.length);
    }
    out.push({
      variant: v.name,
      ran,
      all: all.scores(),
      byCategory: Object.fromEntries([...byCategory].map(([k, t]) => [k, t.scores()])),
    });
  }
  return out;
}

/** The 40-question set of test/memory/fixtures/notes-set.ts as an EvalSet (one category). */
export const notesSet: EvalSet = {
  name: 'notes-40',
  documents: notes.map((n) => ({ source: n.source, text: n.text })),
  questions: questions.map((q) => ({ query: q.query, category: 'paraphrase', evidence: [q.source] })),
};

export interface Quality {
  mode: 'text' | 'vector' | 'hybrid';
  hit5: number;
  recall5: number;
  mrr: number;
}

/** hit@5, recall@5 and MRR of each mode on the 40-question set (bench/memory.ts, test/memory/quality.test.ts). */
export async function retrievalQuality(db: Db, embedder: Embedder): Promise<Quality[]> {
  const rows = await evaluate(db, embedder, notesSet);
  return rows.map((r) => ({
    mode: r.variant as Quality['mode'],
    hit5: r.all.hit5,
    recall5: r.all.recall5,
    mrr: r.all.mrr,
  }));
}
