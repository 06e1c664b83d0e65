/**
 * What PostgreSQL cannot store, made storable. Text columns refuse the NUL character, and jsonb
 * refuses the `\u0000` escape JSON.stringify writes for it; a lone UTF-16 surrogate cannot be
 * encoded at all. Client text never gets here with them (the JSON body parser refuses it with 400,
 * http/plugins/body-parsing.ts), so what arrives is what the server itself produced: tool output
 * (a sandbox reading /proc/1/environ), a model's answer, text extracted from an uploaded file. It is
 * stored with each NUL as U+FFFD and each lone surrogate as U+FFFD, rather than failing the run.
 * Every parameter of every query passes through here; the checks are linear scans that find
 * nothing in the common case.
 */

// Node 20 has both (V8 11.1); TypeScript declares them from lib ES2024 on.
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** The characters themselves: NUL and lone surrogates become U+FFFD. */
function storableChars(s: string): string {
  const out = s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
  const wf = out as unknown as WellFormed;
  return wf.isWellFormed() ? out : wf.toWellFormed();
}

const fixStrings = (v: unknown): unknown => {
  if (typeof v === 'string') return storableChars(v);
  if (Array.isArray(v)) return v.map(fixStrings);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [storableChars(k), fixStrings(x)]));
  }
  return v;
};

/** The escapes JSON.stringify writes for NUL and for any surrogate (paired ones are rare in JSON text). */
const suspectEscape = /\\u(?:0000|[dD][89a-fA-F])/;

export function storableText(s: string): string {
  const out = storableChars(s);
  // A JSON parameter (a jsonb column's value) carries them as escapes: jsonb refuses `\u0000` and
  // unpaired surrogate escapes. Such a value is read and written again with its strings fixed.
  if (!suspectEscape.test(out)) return out;
  try {
    return JSON.stringify(fixStrings(JSON.parse(out)));
  } catch {
    return out; // not JSON: plain text may hold those six characters as they are
  }
}

const storableValue = (v: unknown): unknown => {
  if (typeof v === 'string') return storableText(v);
  if (!Array.isArray(v)) return v;
  const fixed = v.map(storableValue);
  return fixed.some((x, i) => x !== v[i]) ? fixed : v;
};

/** The parameters of one query with their strings (and arrays of strings) made storable. */
export function storableParams(params: readonly unknown[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const fixed = storableValue(params[i]);
    if (fixed !== params[i]) {
      copy ??= [...params];
      copy[i] = fixed;
    }
  }
  return copy ?? (params as unknown[]);
}
