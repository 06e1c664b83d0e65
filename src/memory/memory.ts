import type { Db } from '../db/db.ts';
import type { Actor } from '../events/journal.ts';
import type { ChunkOptions } from './chunk.ts';
import type { EmbedContext, Embedder } from './embeddings.ts';
import { type BatchItemResult, type IngestInput, ingestBatch, ingestDocument } from './ingest.ts';
import { IngestJobs } from './ingest-jobs.ts';
import { KnowledgeBaseService } from './knowledge-bases.ts';
import type { IngestResult, SearchInput, SearchResult } from './schema.ts';
import { type FusionConfig, searchKnowledgeBase, VECTOR_OFF_HOW } from './search.ts';
import { openVectorStore, type VectorStore } from './vectors.ts';

export interface MemoryOptions {
  chunking: ChunkOptions;
  /** Largest document accepted, in bytes. */
  maxDocumentBytes: number;
  /** Most vectors the exact (no pgvector) scan keeps in memory across knowledge bases. */
  vectorCacheChunks: number;
  /** Absent: search is full-text only and documents are stored without vectors. */
  embedder?: Embedder;
  /** Hybrid search's configured fusion (score fusion at its default weights when absent). */
  fusion?: FusionConfig;
  /** Days a finished background ingest's record is kept (0 or absent: kept). */
  ingestRetentionDays?: number;
}

/** The memory module's front: knowledge bases, ingestion and hybrid search, for HTTP and CLI alike. */
export class Memory {
  readonly knowledgeBases: KnowledgeBaseService;
  /** Batch ingests running in the background, with their progress in the store. */
  readonly ingests: IngestJobs;

  private constructor(
    private readonly db: Db,
    readonly vectors: VectorStore,
    private readonly options: MemoryOptions,
  ) {
    this.knowledgeBases = new KnowledgeBaseService(db);
    this.ingests = new IngestJobs(db, options.ingestRetentionDays ?? 0);
  }

  static async open(db: Db, options: MemoryOptions): Promise<Memory> {
    return new Memory(db, await openVectorStore(db, options.vectorCacheChunks), options);
  }

  get embedder(): Embedder | undefined {
    return this.options.embedder;
  }

  get fusion(): FusionConfig | undefined {
    return this.options.fusion;
  }

  /** One line on vector search for the startup banner and /health: on with which embedder, or off and how to turn it on. */
  get vectorSearch(): { state: 'on' | 'off'; embedder?: string; how?: string } {
    const e = this.options.embedder;
    return e ? { state: 'on', embedder: e.id } : { state: 'off', how: VECTOR_OFF_HOW };
  }

  private ingestDeps() {
    const { db, vectors, options } = this;
    return {
      db,
      vectors,
      embedder: options.embedder,
      chunking: options.chunking,
      maxBytes: options.maxDocumentBytes,
    };
  }

  /** Adds or replaces many documents at once, each with its own result (see `ingestBatch`). */
  async ingestMany(
    tenantId: string,
    kbRef: string,
    inputs: readonly IngestInput[],
    ctx: EmbedContext,
    who: Actor,
    onProgress?: (done: number, failed: number) => void | Promise<void>,
  ): Promise<BatchItemResult[]> {
    const kb = await this.knowledgeBases.record(tenantId, kbRef);
    return ingestBatch(this.ingestDeps(), kb, inputs, ctx, who, onProgress);
  }

  async ingest(
    tenantId: string,
    kbRef: string,
    input: IngestInput,
    ctx: EmbedContext,
    who: Actor,
  ): Promise<IngestResult> {
    const kb = await this.knowledgeBases.record(tenantId, kbRef);
    return ingestDocument(this.ingestDeps(), kb, input, ctx, who);
  }

  async search(
    tenantId: string,
    kbRef: string,
    input: SearchInput,
    ctx: EmbedContext,
  ): Promise<SearchResult> {
    const kb = await this.knowledgeBases.record(tenantId, kbRef);
    return searchKnowledgeBase(
      { db: this.db, vectors: this.vectors, embedder: this.options.embedder, fusion: this.options.fusion },
      kb,
      input,
      ctx,
    );
  }
}
