import type { Db } from '../db/db.ts';
import { notFound } from '../errors.ts';
import type { ChatMessage } from './types.ts';

/**
 * The responses POST /v1/responses keeps (`store: true`, its default): the answer as it was given,
 * the input items it was given, and the conversation up to and including it, which a request with
 * `previous_response_id` continues from. Rows are the tenant's: another tenant's id is not found.
 */
export interface StoredResponse {
  id: string;
  /** The Response object as answered (OpenAI's shape). */
  body: Record<string, unknown>;
  /** The conversation the model saw, this answer included, instructions left out. */
  messages: ChatMessage[];
  /** The agent session, for a response an agent gave. */
  sessionId: string | null;
}

export interface InputItemsPage {
  data: Record<string, unknown>[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export class StoredResponses {
  constructor(private readonly db: Db) {}

  async save(tenantId: string, r: StoredResponse & { inputItems: Record<string, unknown>[] }): Promise<void> {
    await this.db.query(
      `insert into responses (id, tenant_id, body, input_items, messages, session_id)
       values ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6::uuid)`,
      [
        r.id,
        tenantId,
        JSON.stringify(r.body),
        JSON.stringify(r.inputItems),
        JSON.stringify(r.messages),
        r.sessionId,
      ],
    );
  }

  async get(tenantId: string, id: string): Promise<StoredResponse> {
    const [row] = await this.db.query<{
      body: Record<string, unknown>;
      messages: ChatMessage[];
      session_id: string | null;
    }>('select body, messages, session_id from responses where id = $1 and tenant_id = $2', [id, tenantId]);
    if (!row) throw notFound('response', id);
    return { id, body: row.body, messages: row.messages, sessionId: row.session_id };
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const rows = await this.db.query('delete from responses where id = $1 and tenant_id = $2 returning id', [
      id,
      tenantId,
    ]);
    if (rows.length === 0) throw notFound('response', id);
  }

  /** A page of a response's input items, by OpenAI's cursor rules (`after` an item id, `order`). */
  async inputItems(
    tenantId: string,
    id: string,
    page: { limit: number; order: 'asc' | 'desc'; after?: string },
  ): Promise<InputItemsPage> {
    const [row] = await this.db.query<{ items: Record<string, unknown>[] }>(
      'select input_items as items from responses where id = $1 and tenant_id = $2',
      [id, tenantId],
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
