import { z } from 'zod';
import type { Queryable } from '../db/db.ts';
import { cursorPage } from '../db/page.ts';

/** Reading the audit journal (GET /v1/journal): a tenant's entries, newest first, filtered, by pages. */

export const journalQuery = z
  .object({
    /** `key:<id>`, `user:<sub>`, `internal` or `system`. */
    actor: z.string().min(1).max(200).optional(),
    /** An action (`agent.create`), or every action under a prefix ending in `.*` (`agent.*`). */
    action: z.string().min(1).max(200).optional(),
    /** The object acted on (its id). */
    target: z.string().min(1).max(200).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    /** `next_cursor` of the previous page. */
    cursor: z.uuid().optional(),
  })
  .strict();
export type JournalQuery = z.infer<typeof journalQuery>;

export const journalEntry = z.object({
  id: z.uuid(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  request_id: z.string().nullable(),
  trace_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
});
export type JournalRecord = z.infer<typeof journalEntry>;

export const journalPage = z.object({ data: z.array(journalEntry), next_cursor: z.uuid().nullable() });

interface JournalRow extends Omit<JournalRecord, 'at'> {
  at: Date;
}

export async function readJournal(
  db: Queryable,
  tenantId: string,
  q: JournalQuery,
): Promise<z.infer<typeof journalPage>> {
  const prefix = q.action?.endsWith('.*') ? q.action.slice(0, -1) : undefined;
  const rows = await db.query<JournalRow>(
    `select id, actor, action, target, request_id, trace_id, data, at from journal
     where tenant_id = $1
       and ($2::text is null or actor = $2)
       and ($3::text is null or action = $3)
       and ($4::text is null or starts_with(action, $4))
       and ($5::text is null or target = $5)
       and ($6::timestamptz is null or at >= $6)
       and ($7::timestamptz is null or at < $7)
       and ($8::uuid is null or id < $8)
     order by id desc
     limit $9`,
    [
      tenantId,
      q.actor ?? null,
      prefix ? null : (q.action ?? null),
      prefix ?? null,
      q.target ?? null,
      q.since ?? null,
      q.until ?? null,
      q.cursor ?? null,
      q.limit + 1,
    ],
  );
  return cursorPage(rows, q.limit, (r) => ({ ...r, at: r.at.toISOString() }));
}
