import type { Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { type Actor, writeJournalMany } from '../events/journal.ts';
import type { Chunk } from './chunk.ts';
import { type DocumentRow, type KbRecord, toDocument } from './knowledge-bases.ts';
import type { IngestResult } from './schema.ts';
import type { VectorStore } from './vectors.ts';

/** What a document's write needs once it is read, chunked and embedded (ingest.ts' `Prepared`). */
export interface ToWrite {
  input: { source: string; bytes: Uint8Array; metadata: Record<string, unknown> };
  existing?: DocumentRow;
  format: string;
  hash: string;
  title: string;
  chunks: Chunk[];
  embeddings?: number[][];
}

/** Most rows per statement: arrays as parameters, so the SQL text never changes. */
const ROWS_PER_STATEMENT = 1000;

/**
 * Inserts the chunks of many documents, ROWS_PER_STATEMENT per statement. The vector column and its
 * type are one of the two fixed pairs a VectorStore has, so the text is still one of two.
 */
export async function insertChunks(
  tx: Queryable,
  vectors: VectorStore,
  kb: KbRecord,
  rows: readonly { docId: string; chunk: Chunk; vec: number[] | null }[],
  model: string | null,
): Promise<void> {
  const { column, sqlType } = vectors;
  const dims = rows.find((r) => r.vec)?.vec?.length ?? null;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + ROWS_PER_STATEMENT);
    await tx.query(
      `insert into chunks (id, tenant_id, knowledge_base_id, document_id, position, heading_path, content, tsv,
                         embedding_dims, embedding_model, ${column})
     select c.id, $1, $2, c.document_id, c.position, coalesce((select array_agg(h) from jsonb_array_elements_text(c.headings) h), '{}'),
            c.content,
            setweight(to_tsvector('english', (select coalesce(string_agg(h, ' '), '') from jsonb_array_elements_text(c.headings) h)), 'A')
              || to_tsvector('english', c.content),
            $9::int, $10::text, c.vec::${sqlType}
       from unnest($3::uuid[], $4::uuid[], $5::int[], $6::jsonb[], $7::text[], $8::text[])
            as c(id, document_id, position, headings, content, vec)`,
      [
        kb.tenant_id,
        kb.id,
        part.map(() => newId()),
        part.map((r) => r.docId),
        part.map((r) => r.chunk.position),
        part.map((r) => JSON.stringify(r.chunk.headingPath)),
        part.map((r) => r.chunk.content),
        part.map((r) => (r.vec ? vectors.literal(r.vec) : null)),
        dims,
        dims ? model : null,
      ],
    );
  }
}

/**
 * Writes a batch's group of documents inside `tx` with a few statements for the whole group: new
 * documents in one multi-row insert, the replaced ones' old chunks in one delete, every chunk in
 * one insert per 1,000, one revision bump and one journal insert. Only a replaced document takes a
 * statement of its own (its update, which also locks its row as the single-document path does).
 * Results are in the order of `docs`. A failure (two first ingests of one source racing) fails the
 * transaction; the caller then writes each document on its own.
 */
export async function writeGroup(
  tx: Queryable,
  vectors: VectorStore,
  kb: KbRecord,
  docs: readonly ToWrite[],
  model: string | null,
  who: Actor,
): Promise<IngestResult[]> {
  const ids = docs.map((d) => d.existing?.id ?? newId());
  const rows = new Map<string, DocumentRow>();
  const fresh = docs.flatMap((d, i) => (d.existing ? [] : [{ d, id: ids[i]! }]));
  for (let i = 0; i < fresh.length; i += ROWS_PER_STATEMENT) {
    const part = fresh.slice(i, i + ROWS_PER_STATEMENT);
    const inserted = await tx.query<DocumentRow>(
      `insert into documents (id, tenant_id, knowledge_base_id, source, title, format, content_hash, bytes, chunk_count, metadata)
       select d.id, $1, $2, d.source, d.title, d.format, d.hash, d.bytes, d.chunks, d.metadata
         from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::int[], $10::jsonb[])
              as d(id, source, title, format, hash, bytes, chunks, metadata)
       returning *`,
      [
        kb.tenant_id,
        kb.id,
        part.map((p) => p.id),
        part.map((p) => p.d.input.source),
        part.map((p) => p.d.title),
        part.map((p) => p.d.format),
        part.map((p) => p.d.hash),
        part.map((p) => p.d.input.bytes.length),
        part.map((p) => p.d.chunks.length),
        part.map((p) => JSON.stringify(p.d.input.metadata)),
      ],
    );
    for (const r of inserted) rows.set(r.id, r);
  }
  const replaced = docs.flatMap((d, i) => (d.existing ? [{ d, id: ids[i]! }] : []));
  for (const { d, id } of replaced) {
    const [row] = await tx.query<DocumentRow>(
      `update documents set title = $2, format = $3, content_hash = $4, bytes = $5, chunk_count = $6,
              metadata = $7::jsonb, updated_at = now() where id = $1 returning *`,
      [
        id,
        d.title,
        d.format,
        d.hash,
        d.input.bytes.length,
        d.chunks.length,
        JSON.stringify(d.input.metadata),
      ],
    );
    // Deleted while it was being ingested: the group fails and each document is tried alone,
    // where this one gets its own conflict.
    if (!row) throw new Error(`${d.input.source} was deleted while it was being ingested`);
    rows.set(id, row);
  }
  if (replaced.length > 0)
    await tx.query('delete from chunks where document_id = any($1::uuid[])', [replaced.map((r) => r.id)]);
  await insertChunks(
    tx,
    vectors,
    kb,
    docs.flatMap((d, i) =>
      d.chunks.map((chunk, j) => ({ docId: ids[i]!, chunk, vec: d.embeddings?.[j] ?? null })),
    ),
    model,
  );
  await tx.query('update knowledge_bases set revision = revision + 1, updated_at = now() where id = $1', [
    kb.id,
  ]);
  await writeJournalMany(
    tx,
    who,
    docs.map((d, i) => ({
      action: d.existing ? 'document.update' : 'document.create',
      target: ids[i],
      data: { knowledge_base_id: kb.id, source: d.input.source, chunks: d.chunks.length },
    })),
  );
  return docs.map((d, i) => {
    // What documentSelect would count, known without reading the chunks back.
    const embedded = d.chunks.filter((_, j) => d.embeddings?.[j]).length;
    const row = {
      ...rows.get(ids[i]!)!,
      embedded_chunks: embedded,
      embedding_model: embedded ? model : null,
    };
    return { status: d.existing ? 'updated' : 'created', document: toDocument(row) };
  });
}
