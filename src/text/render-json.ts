/**
 * JSON for a prompt, bounded: indented like `JSON.stringify(v, null, 2)` but cut at `maxChars`
 * characters and `maxDepth` levels, each with a visible marker. Indentation grows with depth, so a
 * value nested thousands deep rendered in full is quadratic in its size (an 18 KB payload became an
 * 18-million-character prompt); here the work stops at the budget.
 */
export interface RenderLimits {
  maxChars: number;
  maxDepth: number;
}

export const promptJsonLimits: RenderLimits = { maxChars: 20_000, maxDepth: 12 };

export function renderJson(value: unknown, limits: RenderLimits = promptJsonLimits): string {
  const parts: string[] = [];
  let size = 0;
  const out = (s: string) => {
    parts.push(s);
    size += s.length;
  };
  const walk = (v: unknown, depth: number) => {
    if (size > limits.maxChars) return;
    if (v === null || typeof v !== 'object') {
      out(JSON.stringify(v) ?? 'null');
      return;
    }
    const isArray = Array.isArray(v);
    const entries = isArray ? (v as unknown[]).map((x, i) => [i, x] as const) : Object.entries(v);
    if (entries.length === 0) return out(isArray ? '[]' : '{}');
    if (depth >= limits.maxDepth) return out(isArray ? '[…]' : '{…}');
    const pad = '  '.repeat(depth + 1);
    out(isArray ? '[' : '{');
    entries.forEach(([k, x], i) => {
      if (size > limits.maxChars) return;
      out(`${i ? ',' : ''}\n${pad}${isArray ? '' : `${JSON.stringify(k)}: `}`);
      walk(x, depth + 1);
    });
    out(`\n${'  '.repeat(depth)}${isArray ? ']' : '}'}`);
  };
  walk(value, 0);
  const text = parts.join('');
  return size > limits.maxChars
    ? `${text.slice(0, limits.maxChars)}\n[JSON truncated at ${limits.maxChars} characters]`
    : text;
}
