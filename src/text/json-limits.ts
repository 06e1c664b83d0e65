/**
 * Limits on JSON a client sends, checked before and after parsing, in time linear in its length:
 * - nesting depth, counted over the raw text (no recursion), so a body nested 20,000 deep is
 *   refused before JSON.parse or any later walk could overflow the stack;
 * - text the store cannot keep: the NUL character and lone UTF-16 surrogates (only reachable
 *   through `\u` escapes), refused with the path of the string that holds them.
 */

/** The depth at which `text`'s arrays and objects first nest deeper than `max`, or undefined. */
export function jsonTooDeep(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

interface WellFormed {
  isWellFormed(): boolean;
}

const badText = (s: string) => s.includes('\0') || !(s as unknown as WellFormed).isWellFormed();

/**
 * The path (`$.a[2].b`) of the first string or key holding a NUL or a lone surrogate, or undefined.
 * Iterative: the depth is already bounded, but a wide value must not cost a frame per element.
 */
export function findUnstorableText(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '$']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (badText(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const at = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
        if (badText(k)) return at;
        stack.push([child, at]);
      }
    }
  }
  return undefined;
}
