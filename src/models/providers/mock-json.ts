import { SCHEMA_MAX_MIN_ITEMS, SCHEMA_MAX_MIN_LENGTH } from '../../text/schema-limits.ts';
import type { ResponseFormat } from '../types.ts';

/**
 * What one mock answer may cost, whatever the schema: the characters of JSON it writes (strings,
 * numbers, keys) in all. Schemas are bounded where they are accepted (text/schema-limits.ts), but
 * bounds multiply: an array of 10,000 arrays of 10,000 strings is within them. The mock builds its
 * answer on the event loop, so past this budget it stops filling (arrays end, strings are cut,
 * further values are null) and answers what it has, which may then fail the schema: a model that
 * cannot write the answer in full, as a real one with its token limit.
 */
export const MOCK_JSON_MAX_CHARS = 1_000_000;

/** Characters of the answer still to spend. */
interface Budget {
  left: number;
}

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
 * JSON mode (no schema) answers `{"answer": <what the mock would say>}`: the object a prompt shows
 * or the keys it names are found first, by mock-prompted-json.ts.
 */
export function mockJson(format: Exclude<ResponseFormat, { type: 'text' }>, said: string): string {
  // JSON mode: what the prompt shows or names is mock-prompted-json.ts's, tried before this.
  if (format.type === 'json_object') return JSON.stringify({ answer: said });
  const root = (format.json_schema.schema ?? { type: 'object' }) as Schema;
  return JSON.stringify(valueFor(root, root, said, 0, { left: MOCK_JSON_MAX_CHARS }));
}

/** A value valid for one property's schema (the mock's tool arguments use it when the prompt has none). */
export function sampleValue(schema: Record<string, unknown>, said: string): unknown {
  return valueFor(schema as Schema, schema as Schema, said, 0, { left: MOCK_JSON_MAX_CHARS });
}

function valueFor(schema: Schema, root: Schema, said: string, depth: number, budget: Budget): unknown {
  if (depth > 16 || budget.left <= 0) return null;
  if (schema.$ref) return valueFor(resolveRef(schema.$ref, root), root, said, depth + 1, budget);
  if ('const' in schema) return spend(budget, schema.const);
  if (schema.enum && schema.enum.length > 0) return spend(budget, schema.enum[0]);
  const union = schema.anyOf ?? schema.oneOf;
  if (union && union.length > 0) {
    // A non-null branch where there is one: `T | null` answers a T.
    const branch = union.find((b) => b.type !== 'null') ?? union[0]!;
    return valueFor(branch, root, said, depth + 1, budget);
  }
  if (schema.allOf && schema.allOf.length > 0) {
    return valueFor(Object.assign({}, ...schema.allOf), root, said, depth + 1, budget);
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const type = types.find((t) => t !== 'null') ?? types[0] ?? (schema.properties ? 'object' : 'string');
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        budget.left -= name.length + 4;
        out[name] = valueFor(prop, root, said, depth + 1, budget);
      }
      return out;
    }
    case 'array': {
      const min = Math.max(1, Number(schema.minItems ?? 1));
      const max = schema.maxItems === undefined ? min : Number(schema.maxItems);
      const n = Math.min(min, max, SCHEMA_MAX_MIN_ITEMS);
      if (schema.prefixItems)
        return schema.prefixItems.map((s) => valueFor(s, root, said, depth + 1, budget));
      const items: unknown[] = [];
      while (items.length < n && budget.left > 0) {
        budget.left -= 1;
        items.push(valueFor(schema.items ?? {}, root, said, depth + 1, budget));
      }
      return items;
    }
    case 'integer':
    case 'number': {
      budget.left -= 8;
      const min = schema.minimum ?? schema.exclusiveMinimum;
      if (typeof min !== 'number')
        return typeof schema.maximum === 'number' ? Math.min(0, schema.maximum) : 0;
      const v = schema.exclusiveMinimum === min ? min + 1 : min;
      return type === 'integer' ? Math.ceil(v) : v;
    }
    case 'boolean':
      budget.left -= 4;
      return true;
    case 'null':
      budget.left -= 4;
      return null;
    default: {
      const text = stringFor(schema, said, Math.max(0, budget.left));
      budget.left -= text.length + 2;
      return text;
    }
  }
}

/** `value` (a schema's `const` or enum member), its JSON length taken from the budget. */
function spend(budget: Budget, value: unknown): unknown {
  budget.left -= (JSON.stringify(value) ?? '').length;
  return value;
}

/** A string for `schema`, at most `room` characters (and never longer than a schema may ask). */
function stringFor(schema: Schema, said: string, room: number): string {
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
  const min = Math.min(Number(schema.minLength ?? 0), SCHEMA_MAX_MIN_LENGTH, room);
  const max = schema.maxLength === undefined ? Number.POSITIVE_INFINITY : Number(schema.maxLength);
  return said.slice(0, room).padEnd(min, '.').slice(0, max);
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
