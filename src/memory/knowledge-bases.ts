import {
  assertMayChangeVisibility,
  canSee,
  type Viewer,
  visibleParam,
  visibleSql,
} from '../auth/ownership.ts';
import type { Db } from '../db/db.ts';
import { isUuid, newId } from '../db/ids.ts';
import { AppError, isUniqueViolation, notFound, refuseWhileUsed, type User } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import type { Chunk, CreateKbInput, Document, KbKind, KnowledgeBase, UpdateKbInput } from './schema.ts';

interface KbRow {
  id: string;
  tenant_id: string;
  name: string;
  kind: KbKind;
  description: string;
  metadata: Record<string, unknown>;
  owner: string | null;
  visibility: 'private' | 'tenant';
  revision: string | number;
  document_count: number;
  chunk_count: number;
  created_at: Date;
  updated_at: Date;
}

/** A knowledge base as the memory module uses it internally (with its revision). */
export interface KbRecord extends KnowledgeBase {
  revision: number;
}

const toKb = ({ revision, created_at, updated_at, ...r }: KbRow): KbRecord => ({
  ...r,
  revision: Number(revision),
  created_at: created_at.toISOString(),
  updated_at: updated_at.toISOString(),
});

const toPublicKb = ({ revision: _, ...kb }: KbRecord): KnowledgeBase => kb;

export interface DocumentRow extends Omit<Document, 'created_at' | 'updated_at' | 'ingestion'> {
  tenant_id: string;
  created_at: Date;
  updated_at: Date;
}

/**
 * A document row with what its chunks say about ingestion: how many carry a vector and from which
 * model (one index probe per document through chunks_document). Append `where …` to it.
 */
export const documentSelect = `select d.*,
    (select count(*)::int from chunks c where c.document_id = d.id and c.embedding_dims is not null) as embedded_chunks,
    (select max(c.embedding_model) from chunks c where c.document_id = d.id) as embedding_model
  from documents d`;

export const toDocument = ({ tenant_id: _, created_at, updated_at, ...r }: DocumentRow): Document => ({
  ...r,
  ingestion: r.chunk_count === 0 ? 'empty' : r.embedded_chunks > 0 ? 'embedded' : 'lexical',
  created_at: created_at.toISOString(),
  updated_at: updated_at.toISOString(),
});

const kbSelect = `select k.*,
    (select count(*)::int from documents d where d.knowledge_base_id = k.id) as document_count,
    (select coalesce(sum(d.chunk_count), 0)::int from documents d where d.knowledge_base_id = k.id) as chunk_count
  from knowledge_bases k`;

/** A unique violation on insert or rename: the tenant has a knowledge base of that name already. */
function nameTaken(err: unknown, name: string | undefined): unknown {
  return isUniqueViolation(err)
    ? new AppError('conflict', `a knowledge base named ${name} already exists`)
    : err;
}

/** Knowledge bases and their documents: create, read, change, delete, always within one tenant. */
export class KnowledgeBaseService {
  constructor(private readonly db: Db) {}

  async create(
    tenantId: string,
    input: Omit<CreateKbInput, 'visibility'> & Partial<Pick<CreateKbInput, 'visibility'>>,
    who: Actor,
    owner?: string,
  ): Promise<KnowledgeBase> {
    const id = newId();
    return this.db.transaction(async (tx) => {
      try {
        await tx.query(
          `insert into knowledge_bases (id, tenant_id, name, kind, description, metadata, owner, visibility)
           values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
          [
            id,
            tenantId,
            input.name,
            input.kind,
            input.description,
            JSON.stringify(input.metadata),
            owner ?? null,
            input.visibility ?? 'tenant',
          ],
        );
      } catch (err) {
        throw nameTaken(err, input.name);
      }
      await writeJournal(tx, who, {
        action: 'knowledge_base.create',
        target: id,
        data: { name: input.name },
      });
      const [row] = await tx.query<KbRow>(`${kbSelect} where k.id = $1`, [id]);
      return toPublicKb(toKb(row!));
    });
  }

  /**
   * By id, or by name (the CLI takes either). Another tenant's knowledge base is not found, nor
   * (with a viewer) another user's private one.
   */
  get(tenantId: string, ref: string, viewer?: Viewer): Promise<KbRecord> {
    return this.find(tenantId, ref, kbSelect, viewer);
  }

  /** Throws 404 unless the viewer may see the knowledge base (cheap: no counts). */
  async assertVisible(tenantId: string, ref: string, viewer: Viewer): Promise<void> {
    if (!viewer.admin)
      await this.find(
        tenantId,
        ref,
        'select k.*, 0 as document_count, 0 as chunk_count from knowledge_bases k',
        viewer,
      );
  }

  /**
   * As `get`, without the document and chunk counts it adds up (a scan of the knowledge base's
   * documents; here they read 0): what ingest and search need, on every call.
   */
  record(tenantId: string, ref: string): Promise<KbRecord> {
    return this.find(
      tenantId,
      ref,
      'select k.*, 0 as document_count, 0 as chunk_count from knowledge_bases k',
    );
  }

  private async find(tenantId: string, ref: string, select: string, viewer?: Viewer): Promise<KbRecord> {
    const byId = isUuid(ref);
    const [row] = await this.db.query<KbRow>(
      `${select} where k.tenant_id = $1 and ${byId ? 'k.id = $2::uuid' : 'k.name = $2'}`,
      [tenantId, ref],
    );
    if (!row || !canSee(viewer, row)) throw notFound('knowledge base', ref);
    return toKb(row);
  }

  async list(tenantId: string, q: { limit: number; offset: number; kind?: KbKind }, viewer?: Viewer) {
    const rows = await this.db.query<KbRow>(
      `${kbSelect} where k.tenant_id = $1 and ($2::text is null or k.kind = $2) and ${visibleSql(5, 'k.')}
       order by k.created_at desc, k.id desc limit $3 offset $4`,
      [tenantId, q.kind ?? null, q.limit, q.offset, visibleParam(viewer)],
    );
    const [count] = await this.db.query<{ n: number }>(
      `select count(*)::int as n from knowledge_bases
       where tenant_id = $1 and ($2::text is null or kind = $2) and ${visibleSql(3)}`,
      [tenantId, q.kind ?? null, visibleParam(viewer)],
    );
    return { data: rows.map((r) => toPublicKb(toKb(r))), total: count!.n, limit: q.limit, offset: q.offset };
  }

  async update(
    tenantId: string,
    id: string,
    input: UpdateKbInput,
    who: Actor,
    viewer?: Viewer,
  ): Promise<KnowledgeBase> {
    if (viewer && input.visibility !== undefined)
      assertMayChangeVisibility(viewer, await this.get(tenantId, id, viewer), `knowledge base ${id}`);
    return this.db.transaction(async (tx) => {
      try {
        const rows = await tx.query(
          `update knowledge_bases set name = coalesce($3, name), description = coalesce($4, description),
                  metadata = coalesce($5::jsonb, metadata), visibility = coalesce($6, visibility), updated_at = now()
            where tenant_id = $1 and id = $2 returning id`,
          [
            tenantId,
            id,
            input.name ?? null,
            input.description ?? null,
            input.metadata ? JSON.stringify(input.metadata) : null,
            input.visibility ?? null,
          ],
        );
        if (rows.length === 0) throw notFound('knowledge base', id);
      } catch (err) {
        throw nameTaken(err, input.name);
      }
      await writeJournal(tx, who, {
        action: 'knowledge_base.update',
        target: id,
        data: { fields: Object.keys(input) },
      });
      const [row] = await tx.query<KbRow>(`${kbSelect} where k.id = $1`, [id]);
      return toPublicKb(toKb(row!));
    });
  }

  /**
   * Deletes the knowledge base with its documents and chunks (foreign keys cascade), unless an agent
   * searches it (agents name their knowledge bases in `knowledge`): 409 naming them.
   */
  async delete(tenantId: string, id: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const users = await tx.query<User & { kb: string }>(
        `select 'agent' as kind, a.id, a.name, k.name as kb
           from knowledge_bases k join agents a on a.tenant_id = k.tenant_id and a.knowledge ? k.name
          where k.tenant_id = $1 and k.id = $2 order by a.name`,
        [tenantId, id],
      );
      refuseWhileUsed(
        `knowledge base ${users[0]?.kb}`,
        users.map(({ kb: _, ...u }) => u),
      );
      const rows = await tx.query(
        'delete from knowledge_bases where tenant_id = $1 and id = $2 returning id',
        [tenantId, id],
      );
      if (rows.length === 0) throw notFound('knowledge base', id);
      await writeJournal(tx, who, { action: 'knowledge_base.delete', target: id });
    });
  }

  async listDocuments(tenantId: string, kbId: string, q: { limit: number; offset: number }) {
    await this.get(tenantId, kbId);
    const rows = await this.db.query<DocumentRow>(
      `${documentSelect} where d.tenant_id = $1 and d.knowledge_base_id = $2
       order by d.source limit $3 offset $4`,
      [tenantId, kbId, q.limit, q.offset],
    );
    const [count] = await this.db.query<{ n: number }>(
      'select count(*)::int as n from documents where tenant_id = $1 and knowledge_base_id = $2',
      [tenantId, kbId],
    );
    return { data: rows.map(toDocument), total: count!.n, limit: q.limit, offset: q.offset };
  }

  async getDocument(tenantId: string, kbId: string, docId: string): Promise<Document> {
    const [row] = await this.db.query<DocumentRow>(
      `${documentSelect} where d.tenant_id = $1 and d.knowledge_base_id = $2 and d.id = $3`,
      [tenantId, kbId, docId],
    );
    if (!row) throw notFound('document', docId);
    return toDocument(row);
  }

  /** One page of a document's chunks, in document order. */
  async listChunks(tenantId: string, kbId: string, docId: string, q: { limit: number; offset: number }) {
    const doc = await this.getDocument(tenantId, kbId, docId);
    const data = await this.db.query<Chunk>(
      `select id, position, heading_path, content, (embedding_dims is not null) as embedded
         from chunks where tenant_id = $1 and document_id = $2 order by position limit $3 offset $4`,
      [tenantId, docId, q.limit, q.offset],
    );
    return { data, total: doc.chunk_count, limit: q.limit, offset: q.offset };
  }

  /** The id of the document with this source in a knowledge base, if there is one. */
  async findDocument(tenantId: string, kbId: string, source: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ id: string }>(
      'select id from documents where tenant_id = $1 and knowledge_base_id = $2 and source = $3',
      [tenantId, kbId, source],
    );
    return row?.id;
  }

  /** Deletes a document and its chunks; the revision bump tells vector caches to reload. */
  async deleteDocument(tenantId: string, kbId: string, docId: string, who: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query<{ source: string }>(
        'delete from documents where tenant_id = $1 and knowledge_base_id = $2 and id = $3 returning source',
        [tenantId, kbId, docId],
      );
      if (rows.length === 0) throw notFound('document', docId);
      await tx.query('update knowledge_bases set revision = revision + 1, updated_at = now() where id = $1', [
        kbId,
      ]);
      await writeJournal(tx, who, {
        action: 'document.delete',
        target: docId,
        data: { knowledge_base_id: kbId, source: rows[0]!.source },
      });
    });
  }
}
