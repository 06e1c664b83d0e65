import { agentWorkVisibleSql, type Viewer, visibleParam, visibleSql } from '../auth/ownership.ts';
import type { Db } from '../db/db.ts';
import { notFound } from '../errors.ts';
import type { ChatMessage } from './types.ts';

/**
 * The responses POST /v1/responses keeps (`store: true`, its default): the answer as it was given,
 * the input items it was given, and the conversation up to and including it, which a request with
 * `previous_response_id` continues from. Rows are the tenant's: another tenant's id is not found.
 * Inside the tenant, a response is its creator's and the tenant's to see, except a private one: a
 * private agent's answer (what a private agent produced is as private as the agent), or a follow-up
 * of a private response. With a viewer, another user's private response is not found, nor one whose
 * agent or session is now another user's private one.
 */
export interface StoredResponse {
  id: string;
  /** The Response object as answered (OpenAI's shape). */
  body: Record<string, unknown>;
  /** The conversation the model saw, this answer included, instructions left out. */
  messages: ChatMessage[];
  /** The agent session, for a response an agent gave. */
  sessionId: string | null;
  /** `private`: seen by its owner and the tenant's admins only. */
  visibility: 'private' | 'tenant';
}

/** Who made a response, and what it continued and ran, which set who may see it. */
export interface ResponseOrigin {
  /** The user who asked for it. */
  owner?: string;
  /** The agent that gave it (`model: "agent/<name>"`): a private agent makes it private. */
  agentId?: string;
  /** It continues a private response. */
  private: boolean;
}

/** A response (`r`) the viewer ($n) may see, as SQL: its own visibility, its agent's and its session's. */
const responseVisibleSql = (n: number) =>
  `(${visibleSql(n, 'r.')} and ${agentWorkVisibleSql(n, 'r.')}
    and ($${n}::text is null or not exists (
      select 1 from sessions vs where vs.id = r.session_id and not ${visibleSql(n, 'vs.')})))`;

export interface InputItemsPage {
  data: Record<string, unknown>[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export class StoredResponses {
  constructor(private readonly db: Db) {}

  /**
   * Keeps a response. Its visibility is settled now, from its origin (a private agent or a private
   * response continued), so it stays private after its agent or session is gone.
   */
  async save(
    tenantId: string,
    r: Omit<StoredResponse, 'visibility'> & { inputItems: Record<string, unknown>[] },
    origin: ResponseOrigin,
  ): Promise<void> {
    await this.db.query(
      `insert into responses (id, tenant_id, body, input_items, messages, session_id, owner, agent_id, visibility)
       values ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6::uuid, $7, $8::uuid,
               case when $9::boolean or exists (
                      select 1 from agents a where a.id = $8::uuid and a.visibility = 'private' and a.owner is not null)
                    then 'private' else 'tenant' end)`,
      [
        r.id,
        tenantId,
        JSON.stringify(r.body),
        JSON.stringify(r.inputItems),
        JSON.stringify(r.messages),
        r.sessionId,
        origin.owner ?? null,
        origin.agentId ?? null,
        origin.private,
      ],
    );
  }

  async get(tenantId: string, id: string, viewer?: Viewer): Promise<StoredResponse> {
    const [row] = await this.db.query<{
      body: Record<string, unknown>;
      messages: ChatMessage[];
      session_id: string | null;
      visibility: StoredResponse['visibility'];
    }>(
      `select body, messages, session_id, visibility from responses r
        where r.id = $1 and r.tenant_id = $2 and ${responseVisibleSql(3)}`,
      [id, tenantId, visibleParam(viewer)],
    );
    if (!row) throw notFound('response', id);
    return {
      id,
      body: row.body,
      messages: row.messages,
      sessionId: row.session_id,
      visibility: row.visibility,
    };
  }

  async delete(tenantId: string, id: string, viewer?: Viewer): Promise<void> {
    const rows = await this.db.query(
      `delete from responses r where r.id = $1 and r.tenant_id = $2 and ${responseVisibleSql(3)} returning id`,
      [id, tenantId, visibleParam(viewer)],
    );
    if (rows.length === 0) throw notFound('response', id);
  }

  /** A page of a response's input items, by OpenAI's cursor rules (`after` an item id, `order`). */
  async inputItems(
    tenantId: string,
    id: string,
    page: { limit: number; order: 'asc' | 'desc'; after?: string },
    viewer?: Viewer,
  ): Promise<InputItemsPage> {
    const [row] = await this.db.query<{ items: Record<string, unknown>[] }>(
      `select input_items as items from responses r
        where r.id = $1 and r.tenant_id = $2 and ${responseVisibleSql(3)}`,
      [id, tenantId, visibleParam(viewer)],
    );
    if (!row) throw notFound('response', id);
    let items = page.order === 'asc' ? row.items : [...row.items].reverse();
    if (page.after !== undefined) {
      const at = items.findIndex((item) => item.id === page.after);
      if (at < 0) throw notFound('input item', page.after);
      items = items.slice(at + 1);
    }
    const data = items.slice(0, page.limit);
    return {
      data,
      first_id: (data[0]?.id as string | undefined) ?? null,
      last_id: (data.at(-1)?.id as string | undefined) ?? null,
      has_more: items.length > data.length,
    };
  }
}
