import type { Db } from '../db/db.ts';
import type { Actor } from '../events/journal.ts';
import type { ChunkOptions } from './chunk.ts';
import type { EmbedContext, Embedder } from './embeddings.ts';
import { type IngestInput, ingestDocument } from './ingest.ts';
import { KnowledgeBaseService } from './knowledge-bases.ts';
import type { IngestResult, SearchInput, SearchResult } from './schema.ts';
import { searchKnowledgeBase } from './search.ts';
import { openVectorStore, type VectorStore } from './vectors.ts';

export interface MemoryOptions {
  chunking: ChunkOptions;
  /** Largest document accepted, in bytes. */
  maxDocumentBytes: number;
  /** Most vectors the exact (no pgvector) scan keeps in memory across knowledge bases. */
  vectorCacheChunks: number;
  /** Absent: search is full-text only and documents are stored without vectors. */
  embedder?: Embedder;
}

/** The memory module's front: knowledge bases, ingestion and hybrid search, for HTTP and CLI alike. */
export class Memory {
  readonly knowledgeBases: KnowledgeBaseService;

  private constructor(
    private readonly db: Db,
    readonly vectors: VectorStore,
    private readonly options: MemoryOptions,
  ) {
    this.knowledgeBases = new KnowledgeBaseService(db);
  }

  static async open(db: Db, options: MemoryOptions): Promise<Memory> {
    return new Memory(db, await openVectorStore(db, options.vectorCacheChunks), options);
  }

  get embedder(): Embedder | undefined {
    return this.options.embedder;
  }

  async ingest(
    tenantId: string,
    kbRef: string,
    input: IngestInput,
    ctx: EmbedContext,
    who: Actor,
  ): Promise<IngestResult> {
    const kb = await this.knowledgeBases.record(tenantId, kbRef);
    const { db, vectors, options } = this;
    return ingestDocument(
      {
        db,
        vectors,
        embedder: options.embedder,
        chunking: options.chunking,
        maxBytes: options.maxDocumentBytes,
      },
      kb,
      input,
      ctx,
      who,
    );
  }

  async search(
    tenantId: string,
    kbRef: string,
    input: SearchInput,
    ctx: EmbedContext,
  ): Promise<SearchResult> {
    const kb = await this.knowledgeBases.record(tenantId, kbRef);
    return searchKnowledgeBase(
      { db: this.db, vectors: this.vectors, embedder: this.options.embedder },
      kb,
      input,
      ctx,
    );
  }
}
