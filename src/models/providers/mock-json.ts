import type { ResponseFormat } from '../types.ts';

type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  prefixItems?: Schema[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
};

/**
 * The mock model's structured answer: a JSON text that validates against the requested schema,
 * built from the schema alone (deterministic). Strings carry what the mock would have said, so a
 * test can still see its prompt reached the model; numbers are the smallest the schema allows.
 * JSON mode (no schema) answers the JSON object the prompt shows, if it shows one (a prompt
 * says which shape it wants, as JSON mode asks), else `{"answer": <what the mock would say>}`.
 */
export function mockJson(
  format: Exclude<ResponseFormat, { type: 'text' }>,
  said: string,
  prompt: string,
): string {
  if (format.type === 'json_object') {
    const shown = jsonObjectIn(prompt);
    return shown ?? JSON.stringify({ answer: said });
  }
  const root = (format.json_schema.schema ?? { type: 'object' }) as Schema;
  return JSON.stringify(valueFor(root, root, said, 0));
}

/** A value valid for one property's schema (the mock's tool arguments use it when the prompt has none). */
export function sampleValue(schema: Record<string, unknown>, said: string): unknown {
  return valueFor(schema as Schema, schema as Schema, said, 0);
}

function valueFor(schema: Schema, root: Schema, said: string, depth: number): unknown {
  if (depth > 16) return null;
  if (schema.$ref) return valueFor(resolveRef(schema.$ref, root), root, said, depth + 1);
  if ('const' in schema) return schema.const;
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  const union = schema.anyOf ?? schema.oneOf;
  if (union && union.length > 0) {
    // A non-null branch where there is one: `T | null` answers a T.
    const branch = union.find((b) => b.type !== 'null') ?? union[0]!;
    return valueFor(branch, root, said, depth + 1);
  }
  if (schema.allOf && schema.allOf.length > 0) {
    return valueFor(Object.assign({}, ...schema.allOf), root, said, depth + 1);
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const type = types.find((t) => t !== 'null') ?? types[0] ?? (schema.properties ? 'object' : 'string');
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        out[name] = valueFor(prop, root, said, depth + 1);
      }
      return out;
    }
    case 'array': {
      const min = Math.max(1, Number(schema.minItems ?? 1));
      const max = schema.maxItems === undefined ? min : Number(schema.maxItems);
      const n = Math.min(min, max);
      if (schema.prefixItems) return schema.prefixItems.map((s) => valueFor(s, root, said, depth + 1));
      return Array.from({ length: n }, () => valueFor(schema.items ?? {}, root, said, depth + 1));
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? schema.exclusiveMinimum;
      if (typeof min !== 'number')
        return typeof schema.maximum === 'number' ? Math.min(0, schema.maximum) : 0;
      const v = schema.exclusiveMinimum === min ? min + 1 : min;
      return type === 'integer' ? Math.ceil(v) : v;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return stringFor(schema, said);
  }
}

function stringFor(schema: Schema, said: string): string {
  switch (schema.format) {
    case 'date-time':
      return '2000-01-01T00:00:00Z';
    case 'date':
      return '2000-01-01';
    case 'time':
      return '00:00:00Z';
    case 'email':
      return 'mock@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
  }
  if (typeof schema.pattern === 'string') return '';
  const min = Number(schema.minLength ?? 0);
  const max = schema.maxLength === undefined ? Number.POSITIVE_INFINITY : Number(schema.maxLength);
  return said.padEnd(min, '.').slice(0, max);
}

/** `#/$defs/X` or `#/definitions/X` within the root schema; anything else is any string. */
function resolveRef(ref: string, root: Schema): Schema {
  let node: unknown = root;
  for (const key of ref.replace(/^#\/?/, '').split('/')) {
    if (!key) continue;
    node = (node as Record<string, unknown> | undefined)?.[key.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return (node as Schema | undefined) ?? {};
}

/**
 * The first JSON object written in the text (a `{` to a later `}` that parses). Bounded: a few
 * dozen spans of the first 20,000 characters, so a long prompt full of braces costs little.
 */
function jsonObjectIn(full: string): string | undefined {
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
