import { z } from 'zod';
import type { Queryable } from './db.ts';

/** `?limit=&offset=` of every list route; list queries extend `pageFields` with their filters. */
export const pageFields = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
};
export const pageQuery = z.object(pageFields).strict();
export type PageQuery = z.infer<typeof pageQuery>;

export interface Page<T> {
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

/** The response schema of a list route. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
  });

export interface PageStatement {
  /** The columns, e.g. `*`. */
  select: string;
  /** `from … where …` with the filters as `$1…$n`; `params` binds them. */
  from: string;
  /** A total order (end with the id), so pages neither repeat nor skip a row. */
  orderBy: string;
  params: readonly unknown[];
}

/**
 * One page of rows and the count of all matching rows. The count is its own statement rather than
 * `count(*) over ()`: a window over every match reads every matching row before the limit applies,
 * where the page alone can stop after `offset + limit` rows of an index walk.
 */
export async function listPage<R, T>(
  db: Queryable,
  q: PageQuery,
  statement: PageStatement,
  toItem: (row: R) => T,
): Promise<Page<T>> {
  const n = statement.params.length;
  const [rows, [count]] = await Promise.all([
    db.query<R>(
      `select ${statement.select} ${statement.from} order by ${statement.orderBy} limit $${n + 1} offset $${n + 2}`,
      [...statement.params, q.limit, q.offset],
    ),
    db.query<{ n: number }>(`select count(*)::int as n ${statement.from}`, statement.params),
  ]);
  return { data: rows.map(toItem), total: count?.n ?? 0, limit: q.limit, offset: q.offset };
}

/**
 * Keyset pages over UUIDv7 ids (creation order): a query asks for `limit + 1` rows with ids below the
 * cursor, newest first; the extra row only says that another page follows, whose cursor is the last
 * id shown.
 */
export function cursorPage<R extends { id: string }, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): { data: T[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { data: page.map(map), next_cursor: more ? page.at(-1)!.id : null };
}
