import { z } from 'zod';
import { pageFields } from '../db/page.ts';
import { formats } from './formats.ts';

export const kbKinds = ['persona', 'domain', 'tools', 'playbooks', 'custom'] as const;
export type KbKind = (typeof kbKinds)[number];

const metadata = z.record(z.string(), z.unknown());

export const kbName = z
  .string()
  .min(1)
  .max(100)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

export const knowledgeBaseSchema = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  name: z.string(),
  kind: z.enum(kbKinds),
  description: z.string(),
  metadata,
  /** Who made it; a `private` knowledge base is seen only by them and the tenant's admins. */
  owner: z.string().nullable(),
  visibility: z.enum(['private', 'tenant']),
  document_count: z.number().int(),
  chunk_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type KnowledgeBase = z.infer<typeof knowledgeBaseSchema>;

export const createKbBody = z
  .object({
    name: kbName,
    kind: z.enum(kbKinds).default('domain'),
    description: z.string().max(2000).default(''),
    metadata: metadata.default({}),
    visibility: z.enum(['private', 'tenant']).default('tenant'),
  })
  .strict();
export type CreateKbInput = z.infer<typeof createKbBody>;

export const updateKbBody = z
  .object({
    name: kbName,
    description: z.string().max(2000),
    metadata,
    visibility: z.enum(['private', 'tenant']),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');
export type UpdateKbInput = z.infer<typeof updateKbBody>;

export const listQuery = z.object({ ...pageFields, kind: z.enum(kbKinds).optional() }).strict();

export const documentSchema = z.object({
  id: z.uuid(),
  knowledge_base_id: z.uuid(),
  source: z.string(),
  title: z.string(),
  format: z.enum(formats),
  content_hash: z.string(),
  bytes: z.number().int(),
  chunk_count: z.number().int(),
  /**
   * Where ingestion left the document. Ingestion is all or nothing (a file that cannot be read or
   * embedded is not stored), so a stored document is `embedded` (every chunk has a vector: words and
   * meaning both find it), `lexical` (no embedding model was configured: found by words only) or
   * `empty` (no text to search).
   */
  ingestion: z.enum(['embedded', 'lexical', 'empty']),
  /** Chunks with a vector, and the model that made them (null when none has one). */
  embedded_chunks: z.number().int(),
  embedding_model: z.string().nullable(),
  metadata,
  created_at: z.string(),
  updated_at: z.string(),
});
export type Document = z.infer<typeof documentSchema>;

/** One passage of a document as search reads it: in document order, under its headings. */
export const chunkSchema = z.object({
  id: z.uuid(),
  position: z.number().int(),
  heading_path: z.array(z.string()),
  content: z.string(),
  /** Whether it has a vector (found by meaning too), or words only. */
  embedded: z.boolean(),
});
export type Chunk = z.infer<typeof chunkSchema>;

const ingestStatuses = ['created', 'updated', 'unchanged'] as const;
export const ingestResultSchema = z.object({ status: z.enum(ingestStatuses), document: documentSchema });
export type IngestResult = z.infer<typeof ingestResultSchema>;

/** A document sent as JSON: text in `content`, or bytes (a PDF) in `content_base64`. */
export const ingestJsonBody = z
  .object({
    source: z.string().min(1).max(1000),
    content: z.string().max(20_000_000).optional(),
    content_base64: z.string().max(30_000_000).optional(),
    format: z.enum(formats).optional(),
    title: z.string().max(500).optional(),
    metadata: metadata.default({}),
  })
  .strict()
  .refine((b) => (b.content === undefined) !== (b.content_base64 === undefined), {
    message: 'send exactly one of content and content_base64',
  });

/**
 * How hybrid search fuses its lists: `score` adds the lists' own scores, the vector list's turned down
 * as full-text's best match covers more of the query (`fuseScores` in search.ts); `rrf` is weighted
 * reciprocal rank fusion over their orders.
 */
export const fusionMethods = ['score', 'rrf'] as const;
export type FusionMethod = (typeof fusionMethods)[number];

/** Weights of the full-text and vector lists in the fusion. */
export const fusionWeights = z
  .object({ text: z.number().min(0).max(100), vector: z.number().min(0).max(100) })
  .strict()
  .refine((w) => w.text + w.vector > 0, 'at least one weight must be above 0');
export type FusionWeights = z.infer<typeof fusionWeights>;

/** Most documents in one batch request. */
export const MAX_BATCH_DOCUMENTS = 10_000;

/** One item of a batch ingest: its result, or its own error (the others go on). */
export const batchItemSchema = z.object({
  index: z.number().int(),
  source: z.string().nullable(),
  status: z.enum([...ingestStatuses, 'failed']),
  document: documentSchema.optional(),
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).optional(),
});
export const batchResultSchema = z.object({
  data: z.array(batchItemSchema),
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  failed: z.number().int(),
});
export type BatchResult = z.infer<typeof batchResultSchema>;

/**
 * A batch ingest running in the background (`?async=true`): items done and failed so far, moved
 * after every written group, and the per-item results (as the batch route's answer) once finished.
 * `failed` as a status means the ingest itself stopped; items that fail alone leave it `succeeded`.
 */
export const ingestJobSchema = z.object({
  id: z.uuid(),
  knowledge_base_id: z.uuid(),
  status: z.enum(['running', 'succeeded', 'failed']),
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  error: z.string().nullable(),
  result: batchResultSchema.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
});
export type IngestJob = z.infer<typeof ingestJobSchema>;

export const searchBody = z
  .object({
    query: z.string().trim().min(1).max(4000),
    top_k: z.number().int().min(1).max(100).default(5),
    mode: z.enum(['hybrid', 'text', 'vector']).default('hybrid'),
    /** Hybrid only: how the lists are fused; the configured method (by default `score`) when absent. */
    fusion: z.enum(fusionMethods).optional(),
    /** Hybrid only: each list's weight in the fusion; the configured (or the method's default) weights when absent. */
    weights: fusionWeights.optional(),
    /** Also give each hit its own score in each list (`text_score`, `vector_score`): a search tester's view. */
    explain: z.boolean().optional(),
    filters: z
      .object({
        document_ids: z.array(z.uuid()).max(1000).optional(),
        /** Documents whose metadata contains these key/values. */
        metadata: metadata.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type SearchInput = z.infer<typeof searchBody>;

const searchHitSchema = z.object({
  chunk_id: z.uuid(),
  content: z.string(),
  heading_path: z.array(z.string()),
  position: z.number().int(),
  score: z.number(),
  /** Rank (1-based) in each list that found it; absent from a list that did not. */
  text_rank: z.number().int().nullable(),
  vector_rank: z.number().int().nullable(),
  /**
   * With `explain`: the hit's full-text rank (`ts_rank` against the query's words, 0 when none
   * match) and its cosine similarity to the query (null without vectors), whichever list found it.
   */
  text_score: z.number().nullable().optional(),
  vector_score: z.number().nullable().optional(),
  document: z.object({
    id: z.uuid(),
    source: z.string(),
    title: z.string(),
    metadata: z.record(z.string(), z.unknown()),
  }),
});
export type SearchHit = z.infer<typeof searchHitSchema>;

export const searchResultSchema = z.object({
  data: z.array(searchHitSchema),
  /** What actually ran: `text` when no embedding provider is configured. */
  mode: z.enum(['hybrid', 'text', 'vector']),
  /** The fusion method and weights that ran (hybrid only). */
  fusion: z.enum(fusionMethods).optional(),
  weights: z.object({ text: z.number(), vector: z.number() }).optional(),
  /** Whether vector search is available here; `off` when no embedding provider is configured. */
  vector_search: z.enum(['on', 'off']),
  /** Why the mode that ran differs from the one asked for, and how to change it. */
  notice: z.string().optional(),
});
export type SearchResult = z.infer<typeof searchResultSchema>;
