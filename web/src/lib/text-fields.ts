/** What a form's text fields hold, read the one way: JSON boxes and comma-separated lists. */

/** JSON text's value, or the reason it is not JSON (said as the field's problem). */
export function parseJson(text: string): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { problem: `Not JSON: ${(err as Error).message}` };
  }
}

/** A comma-separated field's entries, trimmed, the empty ones dropped. */
export const commaList = (text: string): string[] =>
  text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
