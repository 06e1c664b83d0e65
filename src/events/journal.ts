import type { Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';

/** Who did something, and under which request: carried from the front door into every service call. */
export interface Actor {
  tenantId: string;
  /** `key:<id>`, `user:<sub>`, `internal`, `system`. */
  actor: string;
  requestId?: string;
  traceId?: string;
  /** The span work done for this actor hangs under (the request's server span, when traced). */
  spanId?: string;
  /** The caller's W3C `tracestate` (kept with a task it enqueues). */
  traceState?: string;
}

export interface JournalEntry {
  action: string;
  target?: string;
  data?: Record<string, unknown>;
}

/** The audit journal: one append-only row per change, written in the same transaction as the change. */
export async function writeJournal(db: Queryable, who: Actor, entry: JournalEntry): Promise<void> {
  await db.query(
    `insert into journal (id, tenant_id, actor, action, target, request_id, trace_id, data)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [
      newId(),
      who.tenantId,
      who.actor,
      entry.action,
      entry.target ?? null,
      who.requestId ?? null,
      who.traceId ?? null,
      JSON.stringify(entry.data ?? {}),
    ],
  );
}

export const systemActor = (tenantId: string): Actor => ({ tenantId, actor: 'system' });

/** Many journal rows in one statement (a batch's documents), in the same transaction as the change. */
export async function writeJournalMany(
  db: Queryable,
  who: Actor,
  entries: readonly JournalEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `insert into journal (id, tenant_id, actor, action, target, request_id, trace_id, data)
     select e.id, $1, $2, e.action, e.target, $3, $4, e.data
       from unnest($5::uuid[], $6::text[], $7::text[], $8::jsonb[]) as e(id, action, target, data)`,
    [
      who.tenantId,
      who.actor,
      who.requestId ?? null,
      who.traceId ?? null,
      entries.map(() => newId()),
      entries.map((e) => e.action),
      entries.map((e) => e.target ?? null),
      entries.map((e) => JSON.stringify(e.data ?? {})),
    ],
  );
}
