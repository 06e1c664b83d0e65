/**
 * Bounds on the JSON Schemas clients send (an agent's `response_format`, a chat request's, a
 * Responses `text.format`, tool parameters, task input schemas, evaluator schemas), checked where
 * they are accepted. A schema is instructions the server acts on: the mock model builds an answer
 * from it, the loop echoes it to the model when an answer fails it, ajv compiles it to code. A
 * `minItems` of ten million made one request build ten million items on the event loop; the
 * process stopped renewing its leases and the next server took the run over and blocked in turn
 * (issue 61). No answer a model can write needs more than these, and each is far above what
 * structured-output vendors themselves accept (OpenAI: 5,000 properties, 10 levels of nesting).
 */

/** `minItems` and `minContains`: items an answer must hold at least. */
export const SCHEMA_MAX_MIN_ITEMS = 10_000;
/** `minLength`: characters a string must hold at least. */
export const SCHEMA_MAX_MIN_LENGTH = 100_000;
/** `minProperties`: properties an object must hold at least. */
const SCHEMA_MAX_MIN_PROPERTIES = 1_000;
/** Arrays and objects nested in the schema document itself (the top one is level 1). */
const SCHEMA_MAX_DEPTH = 64;
/** The schema's length as JSON text: it travels in prompts and is compiled to code. */
const SCHEMA_MAX_CHARS = 128 * 1024;

const minimums: Record<string, number> = {
  minItems: SCHEMA_MAX_MIN_ITEMS,
  minContains: SCHEMA_MAX_MIN_ITEMS,
  minLength: SCHEMA_MAX_MIN_LENGTH,
  minProperties: SCHEMA_MAX_MIN_PROPERTIES,
};

/** Why a schema is refused: the keyword, its place in the schema (path segments) and the rule. */
export interface SchemaLimitProblem {
  keyword: string;
  path: Array<string | number>;
  message: string;
}

/**
 * The first bound `schema` breaks, or undefined. Walks iteratively (the depth is checked on the
 * way, so a deep document costs no stack), size first: a schema too long is not walked at all.
 * Keys inside `properties` and the like are property names, not keywords: a property called
 * `minItems` is not a bound, so only values that are numbers are judged.
 */
export function schemaLimitProblem(schema: unknown): SchemaLimitProblem | undefined {
  const text = JSON.stringify(schema) ?? '';
  if (text.length > SCHEMA_MAX_CHARS) {
    return {
      keyword: 'size',
      path: [],
      message: `the schema is ${text.length} characters as JSON; at most ${SCHEMA_MAX_CHARS}`,
    };
  }
  const stack: Array<[unknown, Array<string | number>]> = [[schema, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (path.length + 1 > SCHEMA_MAX_DEPTH) {
      return {
        keyword: 'depth',
        path,
        message: `the schema nests deeper than ${SCHEMA_MAX_DEPTH} levels`,
      };
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node);
    for (const [key, value] of entries) {
      const max = typeof key === 'string' ? minimums[key] : undefined;
      if (max !== undefined && typeof value === 'number' && value > max) {
        return {
          keyword: key as string,
          path: [...path, key],
          message: `${key} is ${value}; at most ${max}`,
        };
      }
      if (value !== null && typeof value === 'object') stack.push([value, [...path, key]]);
    }
  }
  return undefined;
}
