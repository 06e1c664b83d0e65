import type { ChatMessage } from '../types.ts';

/**
 * The mock model's answer in JSON mode (`json_object`, no schema), where the caller's own parser
 * expects the object its prompt asked for (LangChain's `jsonMode`, a hand-written prompt): JSON mode
 * leaves the shape to the prompt, so the mock reads it there. In order:
 *
 * 1. a JSON object the prompt shows (the last user message, then the system messages), as shown;
 * 2. keys the prompt names ("with keys `name` and `age`", "fields: name, age"), each holding what
 *    the mock would have said;
 *
 * else undefined, and the caller answers `{"answer": …}` (mock-json.ts). Deterministic, as the mock is.
 */
export function promptedObject(messages: readonly ChatMessage[], said: string): string | undefined {
  const texts = [
    messages.findLast((m) => m.role === 'user')?.content ?? '',
    ...messages.filter((m) => m.role === 'system').map((m) => m.content ?? ''),
  ].filter(Boolean);
  for (const text of texts) {
    const shown = objectShown(text);
    if (shown) return shown;
  }
  for (const text of texts) {
    const keys = keysNamed(text);
    if (keys) return JSON.stringify(Object.fromEntries(keys.map((k) => [k, said])));
  }
  return undefined;
}

/** The first span of the text that parses as a JSON object (bounded: a prompt is not a puzzle). */
function objectShown(full: string): string | undefined {
  const text = full.slice(0, 20_000);
  let tries = 0;
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    for (let end = text.lastIndexOf('}'); end > start; end = text.lastIndexOf('}', end - 1)) {
      if (++tries > 64) return undefined;
      try {
        const v = JSON.parse(text.slice(start, end + 1));
        if (v && typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(v);
      } catch {
        // Not this span: try a shorter one.
      }
    }
  }
  return undefined;
}

const keyword = /\b(?:keys|fields|properties|attributes)\b(?:\s+(?:named|called))?\s*:?/gi;
const identifier = /^[A-Za-z_][\w-]{0,63}$/;

/**
 * Keys the text names after "keys", "fields", "properties" or "attributes", up to the end of that
 * sentence: the quoted ones (`name`, "name", 'name'), else a list of bare words (at least two, so
 * "the fields below" names none).
 */
function keysNamed(full: string): string[] | undefined {
  const text = full.slice(0, 20_000);
  for (const m of text.matchAll(keyword)) {
    const rest = /^[^.;\n]{0,300}/.exec(text.slice(m.index + m[0].length))?.[0] ?? '';
    const quoted = [...rest.matchAll(/[`"']([A-Za-z_][\w-]{0,63})[`"']/g)].map((q) => q[1]!);
    if (quoted.length > 0) return [...new Set(quoted)];
    const bare = rest
      .replace(/^\s*(?:the|of)\s+/i, '')
      .split(/\s*(?:,|\band\b|\bor\b|&)\s*/)
      .map((w) => w.trim())
      .filter(Boolean);
    if (bare.length >= 2 && bare.every((w) => identifier.test(w))) return [...new Set(bare)];
  }
  return undefined;
}
