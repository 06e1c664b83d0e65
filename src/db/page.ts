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
