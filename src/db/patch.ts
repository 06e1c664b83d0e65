/**
 * Builds the SET list of an UPDATE from the fields a client sent. Column names come only from
 * `columns` (a fixed list in code), never from the request; values are always parameters.
 */
export function patchSet(
  fields: Record<string, unknown>,
  columns: { plain: readonly string[]; json: readonly string[] },
  firstParam: number,
): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (columns.json.includes(key)) {
      // null is SQL NULL, not the JSON value null, so `is null` finds a cleared column.
      params.push(value === null ? null : JSON.stringify(value));
      parts.push(`${key} = $${firstParam + params.length - 1}::jsonb`);
    } else if (columns.plain.includes(key)) {
      params.push(value);
      parts.push(`${key} = $${firstParam + params.length - 1}`);
    }
  }
  return { sql: parts.join(', '), params };
}

/** The fields a client sent, for merging over what is stored: absent (undefined) ones are left out. */
export const withoutUndefined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
