import { createHash } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { AppError, isUniqueViolation } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import { type ChunkOptions, chunkSections } from './chunk.ts';
import type { EmbedContext, Embedder } from './embeddings.ts';
import { normalise } from './embeddings.ts';
import { type Format, formatOfName, parseDocumentBytes } from './formats.ts';
import { type DocumentRow, type KbRecord, toDocument } from './knowledge-bases.ts';
import type { IngestResult } from './schema.ts';
import { chunksWritten } from './upkeep.ts';
import type { VectorStore } from './vectors.ts';

export interface IngestInput {
  source: string;
  bytes: Uint8Array;
  format?: Format;
  title?: string;
  metadata: Record<string, unknown>;
}

export interface IngestDeps {
  db: Db;
  vectors: VectorStore;
  embedder?: Embedder;
  chunking: ChunkOptions;
  maxBytes: number;
}

/**
 * Adds or replaces one document. The content hash covers the bytes, the format and the settings
 * that shape chunks and vectors, so re-sending an unchanged file does nothing, while a changed
 * file (or a new embedding model) replaces the document's chunks in one transaction.
 * Parsing, chunking and embedding happen before the transaction: a document that cannot be read,
 * or an embedding provider that fails, leaves the knowledge base as it was.
 */
export async function ingestDocument(
  deps: IngestDeps,
  kb: KbRecord,
  input: IngestInput,
  ctx: EmbedContext,
  who: Actor,
): Promise<IngestResult> {
  const { db, vectors, embedder, chunking } = deps;
  if (input.bytes.length > deps.maxBytes)
    throw new AppError(
      'payload_too_large',
      `${input.source}: ${input.bytes.length} bytes is over ${deps.maxBytes}`,
    );
  const format = input.format ?? formatOfName(input.source) ?? 'text';
  const hash = createHash('sha256')
    .update(input.bytes)
    .update(`\0${format}\0${chunking.maxChars}/${chunking.overlapChars}\0${embedder?.id ?? 'none'}`)
    .digest('hex');

  const [existing] = await db.query<DocumentRow>(
    'select * from documents where knowledge_base_id = $1 and source = $2',
    [kb.id, input.source],
  );
  const sameMeta = existing && JSON.stringify(existing.metadata) === JSON.stringify(input.metadata);
  if (
    existing &&
    existing.content_hash === hash &&
    sameMeta &&
    (input.title ?? existing.title) === existing.title
  )
    return { status: 'unchanged', document: toDocument(existing) };

  const parsed = await parseDocumentBytes(input.bytes, format, input.source);
  const chunks = chunkSections(parsed.sections, chunking);
  const embeddings = embedder && chunks.length > 0 ? await embedChunks(embedder, chunks, ctx) : undefined;
  const title = input.title ?? (parsed.title || input.source);
  if (embeddings?.[0]) await vectors.prepare(embeddings[0].length, embeddings.length);

  try {
    const result = await writeDocument();
    chunksWritten(db, chunks.length);
    return result;
  } catch (err) {
    // Two first ingests of one source at once: one wins, the other is told to retry.
    if (isUniqueViolation(err))
      throw new AppError('conflict', `${input.source} is being ingested by another request; send it again`);
    throw err;
  }

  function writeDocument(): Promise<IngestResult> {
    return db.transaction(async (tx) => {
      const docId = existing?.id ?? newId();
      if (existing) {
        // The update comes first: it locks the document row, so a second replacement of the same
        // document waits here until the first commits, and its delete below then sees (and removes)
        // the first one's chunks. Deleting first would miss chunks inserted after its snapshot.
        const updated = await tx.query(
          `update documents set title = $2, format = $3, content_hash = $4, bytes = $5, chunk_count = $6,
                metadata = $7::jsonb, updated_at = now() where id = $1 returning id`,
          [docId, title, format, hash, input.bytes.length, chunks.length, JSON.stringify(input.metadata)],
        );
        if (updated.length === 0)
          throw new AppError(
            'conflict',
            `${input.source} was deleted while it was being ingested; send it again`,
          );
        await tx.query('delete from chunks where document_id = $1', [docId]);
      } else {
        await tx.query(
          `insert into documents (id, tenant_id, knowledge_base_id, source, title, format, content_hash, bytes, chunk_count, metadata)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
          [
            docId,
            kb.tenant_id,
            kb.id,
            input.source,
            title,
            format,
            hash,
            input.bytes.length,
            chunks.length,
            JSON.stringify(input.metadata),
          ],
        );
      }
      // One statement per 1,000 chunks: arrays as parameters, so the SQL text never changes (the
      // vector column and its type are one of the two fixed pairs a VectorStore has).
      const { column, sqlType } = vectors;
      for (let i = 0; i < chunks.length; i += 1000) {
        const part = chunks.slice(i, i + 1000);
        const vecs = embeddings?.slice(i, i + 1000).map((v) => vectors.literal(v)) ?? part.map(() => null);
        await tx.query(
          `insert into chunks (id, tenant_id, knowledge_base_id, document_id, position, heading_path, content, tsv,
                             embedding_dims, embedding_model, ${column})
         select c.id, $1, $2, $3, c.position, coalesce((select array_agg(h) from jsonb_array_elements_text(c.headings) h), '{}'),
                c.content,
                setweight(to_tsvector('english', (select coalesce(string_agg(h, ' '), '') from jsonb_array_elements_text(c.headings) h)), 'A')
                  || to_tsvector('english', c.content),
                $9::int, $10::text, c.vec::${sqlType}
           from unnest($4::uuid[], $5::int[], $6::jsonb[], $7::text[], $8::text[]) as c(id, position, headings, content, vec)`,
          [
            kb.tenant_id,
            kb.id,
            docId,
            part.map(() => newId()),
            part.map((c) => c.position),
            part.map((c) => JSON.stringify(c.headingPath)),
            part.map((c) => c.content),
            vecs,
            embeddings?.[0]?.length ?? null,
            embeddings ? (embedder?.id ?? null) : null,
          ],
        );
      }
      await tx.query('update knowledge_bases set revision = revision + 1, updated_at = now() where id = $1', [
        kb.id,
      ]);
      await writeJournal(tx, who, {
        action: existing ? 'document.update' : 'document.create',
        target: docId,
        data: { knowledge_base_id: kb.id, source: input.source, chunks: chunks.length },
      });
      const [row] = await tx.query<DocumentRow>('select * from documents where id = $1', [docId]);
      return { status: existing ? 'updated' : 'created', document: toDocument(row!) };
    });
  }
}

/** Embeds each chunk with its heading path in front, so a section title informs its vector. */
async function embedChunks(
  embedder: Embedder,
  chunks: readonly { headingPath: string[]; content: string }[],
  ctx: EmbedContext,
): Promise<number[][]> {
  const texts = chunks.map((c) =>
    c.headingPath.length ? `${c.headingPath.join(' > ')}\n${c.content}` : c.content,
  );
  const vectors = await embedder.embed(texts, ctx);
  if (vectors.length !== texts.length)
    throw new AppError(
      'bad_gateway',
      `embedding provider returned ${vectors.length} vectors for ${texts.length} texts`,
    );
  return vectors.map(normalise);
}
