import { useEffect, useState } from 'react';
// The server's own bounds, the same file: a schema out of them is said before anything is sent.
import { schemaLimitProblem } from '../../../src/text/schema-limits.ts';
import { ApiError, api, unwrap } from './api';
import { defineQuery, useApiQuery } from './query';

declare module './query' {
  interface QueryShapes {
    'json-schemas/check': Array<string | null>;
  }
}

/** JSON text that must hold an object: the parsed object, or why not. */
export function parseObject(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { error: 'must be a JSON object' };
    return { value: value as Record<string, unknown> };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * What is wrong with a JSON Schema typed as text, found in the page: not JSON, not an object, or out
 * of the server's bounds (src/text/schema-limits.ts, imported, not copied). Undefined when it is
 * empty or passes; whether it compiles is `useSchemaCompiles`'s to say.
 */
export function schemaTextProblem(text: string): string | undefined {
  const parsed = parseObject(text);
  if (parsed.error) return `The schema ${parsed.error}.`;
  if (!parsed.value) return undefined;
  const p = schemaLimitProblem(parsed.value);
  if (!p) return undefined;
  return p.path.length
    ? `At ${p.path.join('.')}: ${p.message}.`
    : `${p.message[0]?.toUpperCase()}${p.message.slice(1)}.`;
}

const compileProblem = (e: unknown): string | null => {
  if (!(e instanceof ApiError) || e.status !== 400) throw e;
  const message = (e.details as { message?: string }[] | undefined)?.[0]?.message ?? e.message;
  return `${message[0]?.toUpperCase()}${message.slice(1)}.`;
};

/** Each schema's compile problem, or null: one request per schema, in order. */
const schemaChecks = defineQuery('json-schemas/check', async (texts: string[]) => {
  const out: Array<string | null> = [];
  for (const text of texts) {
    try {
      unwrap(await api.POST('/v1/json-schemas/check', { body: { schema: JSON.parse(text) } }));
      out.push(null);
    } catch (e) {
      out.push(compileProblem(e));
    }
  }
  return out;
});

/** `value`, once it has stopped changing for `ms`: a check per pause in typing, not per key. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/**
 * Whether schemas that passed `schemaTextProblem` compile, as the server compiles them (ajv, with
 * RE2 patterns, under each `$schema`'s draft): the problem of each, or undefined while it is fine
 * or not yet known. Compiling generates code, which the console's CSP (script-src 'self') forbids
 * in the page, so the server's check route says it, while the user types.
 */
export function useSchemasCompile(texts: string[]): Array<string | undefined> {
  const key = JSON.stringify(texts);
  const settled = useSettled(key, 300);
  const wanted = (JSON.parse(settled) as string[]).filter(
    (t) => t.trim() !== '' && schemaTextProblem(t) === undefined,
  );
  const check = useApiQuery({
    ...schemaChecks(wanted),
    enabled: settled === key && wanted.length > 0,
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
  if (settled !== key || !check.data) return texts.map(() => undefined);
  const byText = new Map(wanted.map((t, i) => [t, check.data[i] ?? undefined]));
  return texts.map((t) => byText.get(t) ?? undefined);
}
