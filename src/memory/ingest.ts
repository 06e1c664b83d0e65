import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { AppError, isUniqueViolation } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import { type ChunkOptions, chunkSections } from './chunk.ts';
import type { EmbedContext, Embedder } from './embeddings.ts';
import { normalise } from './embeddings.ts';
import { type Format, formatOfName, parseDocumentBytes } from './formats.ts';
import { insertChunks, writeGroup } from './ingest-write.ts';
import { type DocumentRow, documentSelect, type KbRecord, toDocument } from './knowledge-bases.ts';
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

/** A document read and chunked, ready to embed and write (or already stored as it is). */
interface Prepared {
  input: IngestInput;
  existing?: DocumentRow;
  unchanged?: IngestResult;
  format: Format;
  hash: string;
  title: string;
  chunks: { position: number; headingPath: string[]; content: string }[];
  embeddings?: number[][];
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
  const p = await prepareDocument(deps, kb, input);
  if (p.unchanged) return p.unchanged;
  if (deps.embedder && p.chunks.length > 0) p.embeddings = await embedChunks(deps.embedder, p.chunks, ctx);
  return writePrepared(deps, kb, p, who);
}

/** One item's outcome in a batch: its result, or the error that stopped it alone. */
export type BatchItemResult = { index: number; source: string } & (
  | { ok: true; result: IngestResult }
  | { ok: false; error: AppError }
);

/** Most chunks embedded in one call during a batch, so progress moves and memory stays bounded. */
const BATCH_EMBED_CHUNKS = 256;

/**
 * Adds or replaces many documents: each is read and chunked on its own (a bad one fails alone), the
 * chunks of many documents are embedded together in calls of up to BATCH_EMBED_CHUNKS, and each
 * document is written in its own transaction, so one item's failure never undoes another's.
 * `onProgress` is called after each written group with the counts of items done and failed so far.
 */
export async function ingestBatch(
  deps: IngestDeps,
  kb: KbRecord,
  inputs: readonly IngestInput[],
  ctx: EmbedContext,
  who: Actor,
  onProgress?: (done: number, failed: number) => void | Promise<void>,
): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = [];
  const report = () =>
    onProgress?.(
      results.length,
      results.reduce((n, r) => n + (r.ok ? 0 : 1), 0),
    );
  const fail = (index: number, err: unknown) =>
    results.push({ index, source: inputs[index]!.source, ok: false, error: asAppError(err) });
  let group: { index: number; p: Prepared }[] = [];
  let groupChunks = 0;
  const flush = async () => {
    const todo = group;
    const groupRows = groupChunks;
    group = [];
    groupChunks = 0;
    const withChunks = todo.filter((g) => g.p.chunks.length > 0);
    if (deps.embedder && withChunks.length > 0) {
      try {
        const vecs = await embedChunks(
          deps.embedder,
          withChunks.flatMap((g) => g.p.chunks),
          ctx,
        );
        let at = 0;
        for (const g of withChunks) {
          g.p.embeddings = vecs.slice(at, at + g.p.chunks.length);
          at += g.p.chunks.length;
        }
      } catch (err) {
        for (const g of todo) fail(g.index, err);
        await report();
        return;
      }
    }
    // The group in one transaction (one commit for many documents); if any of them fails, each is
    // written again on its own, so the failure stays that item's.
    try {
      const dims = todo.find((g) => g.p.embeddings?.[0])?.p.embeddings?.[0]?.length;
      if (dims) await deps.vectors.prepare(dims, groupRows);
      const written = await deps.db.transaction(async (tx) => {
        const docs = await writeGroup(
          tx,
          deps.vectors,
          kb,
          todo.map((g) => g.p),
          deps.embedder?.id ?? null,
          who,
        );
        return docs.map(
          (result, i): BatchItemResult => ({
            index: todo[i]!.index,
            source: todo[i]!.p.input.source,
            ok: true,
            result,
          }),
        );
      });
      chunksWritten(deps.db, groupRows);
      results.push(...written);
      await report();
      return;
    } catch {
      // Which document failed the group is found by writing each alone, below.
    }
    for (const g of todo) {
      try {
        results.push({
          index: g.index,
          source: g.p.input.source,
          ok: true,
          result: await writePrepared(deps, kb, g.p, who),
        });
      } catch (err) {
        fail(g.index, err);
      }
    }
    await report();
  };
  const known = await existingDocuments(deps.db, kb, inputs);
  for (const [index, input] of inputs.entries()) {
    try {
      const p = await prepareDocument(deps, kb, input, known.get(input.source) ?? null);
      if (p.unchanged) {
        results.push({ index, source: input.source, ok: true, result: p.unchanged });
        continue;
      }
      group.push({ index, p });
      groupChunks += p.chunks.length;
      if (groupChunks >= BATCH_EMBED_CHUNKS) await flush();
    } catch (err) {
      fail(index, err);
    }
  }
  if (group.length > 0) await flush();
  return results.sort((a, b) => a.index - b.index);
}

/** JSON with object keys sorted: jsonb stores keys in its own order, so a plain stringify differs. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function asAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', err instanceof Error ? err.message : String(err));
}

/** The stored documents of a batch's sources, read 1,000 sources per statement instead of one each. */
async function existingDocuments(
  db: Db,
  kb: KbRecord,
  inputs: readonly IngestInput[],
): Promise<Map<string, DocumentRow>> {
  const out = new Map<string, DocumentRow>();
  for (let i = 0; i < inputs.length; i += 1000) {
    const rows = await db.query<DocumentRow>(
      `${documentSelect} where d.knowledge_base_id = $1 and d.source = any($2::text[])`,
      [kb.id, inputs.slice(i, i + 1000).map((d) => d.source)],
    );
    for (const r of rows) out.set(r.source, r);
  }
  return out;
}

/** `known`: the stored document as a batch read it beforehand (null: none), or undefined to read it here. */
async function prepareDocument(
  deps: IngestDeps,
  kb: KbRecord,
  input: IngestInput,
  known?: DocumentRow | null,
): Promise<Prepared> {
  const { db, embedder, chunking } = deps;
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

  const existing =
    known !== undefined
      ? (known ?? undefined)
      : (
          await db.query<DocumentRow>(`${documentSelect} where d.knowledge_base_id = $1 and d.source = $2`, [
            kb.id,
            input.source,
          ])
        )[0];
  const sameMeta = existing && canonical(existing.metadata) === canonical(input.metadata);
  if (
    existing &&
    existing.content_hash === hash &&
    sameMeta &&
    (input.title ?? existing.title) === existing.title
  )
    return {
      input,
      format,
      hash,
      title: existing.title,
      chunks: [],
      unchanged: { status: 'unchanged', document: toDocument(existing) },
    };

  const parsed = await parseDocumentBytes(input.bytes, format, input.source);
  const chunks = chunkSections(parsed.sections, chunking);
  const title = input.title ?? (parsed.title || input.source);
  return { input, existing, format, hash, title, chunks };
}

/** Writes one prepared document in its own transaction (a batch's group is written by `writeGroup`). */
async function writePrepared(deps: IngestDeps, kb: KbRecord, p: Prepared, who: Actor): Promise<IngestResult> {
  const { db, vectors, embedder } = deps;
  const { input, existing, format, hash, title, chunks, embeddings } = p;
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
    return db.transaction(write);
  }

  function write(tx: Queryable): Promise<IngestResult> {
    return (async () => {
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
      await insertChunks(
        tx,
        vectors,
        kb,
        chunks.map((chunk, j) => ({ docId, chunk, vec: embeddings?.[j] ?? null })),
        embedder?.id ?? null,
      );
      await tx.query('update knowledge_bases set revision = revision + 1, updated_at = now() where id = $1', [
        kb.id,
      ]);
      await writeJournal(tx, who, {
        action: existing ? 'document.update' : 'document.create',
        target: docId,
        data: { knowledge_base_id: kb.id, source: input.source, chunks: chunks.length },
      });
      const [row] = await tx.query<DocumentRow>(`${documentSelect} where d.id = $1`, [docId]);
      return { status: existing ? 'updated' : 'created', document: toDocument(row!) };
    })();
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
