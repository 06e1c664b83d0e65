import type { ValidateFunction } from 'ajv';
import { z } from 'zod';
import { clientJsonSchema } from '../text/client-schema.ts';
import { compileSchema, schemaAjv } from '../text/schema-ajv.ts';
import type { ResponseFormat } from './types.ts';

/**
 * Structured output that an agent asks for (its `response_format`, or a chat request's): the shape
 * it is configured with, and the check of an answer against it. The agent loop asks the model for
 * it and checks the final answer before the run completes (runtime/loop).
 */

const ajv = schemaAjv();

/** The JSON Schema of a `json_schema` format: refused (400) when out of bounds or not compilable. */
const usableSchema = clientJsonSchema();

/** OpenAI's `response_format`: text (no constraint), JSON mode, or a JSON Schema. */
export const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, "_" and "-", at most 64'),
          description: z.string().max(2000).optional(),
          schema: usableSchema.optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);

/** A format that constrains the answer (not `text`). */
export type StructuredFormat = Exclude<ResponseFormat, { type: 'text' }>;

export const isStructured = (f: ResponseFormat | null | undefined): f is StructuredFormat =>
  f !== null && f !== undefined && f.type !== 'text';

/** Compiled schemas by their text: agents ask with the same few schemas over and over. */
const compiled = new Map<string, ValidateFunction>();

function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = compileSchema(ajv, schema);
    if (compiled.size >= 200) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, validate);
  }
  return validate;
}

/**
 * Why `text` is not an answer in `format`, or undefined when it is: JSON mode wants a JSON object;
 * a JSON Schema wants JSON that validates against it (every error, as ajv words them, at most 5).
 */
export function structuredOutputError(format: StructuredFormat, text: string | null): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    return 'the answer is not valid JSON';
  }
  if (format.type === 'json_object') {
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? undefined
      : 'the answer is not a JSON object';
  }
  const schema = format.json_schema.schema;
  if (!schema) return undefined;
  const validate = validatorOf(schema);
  if (validate(value)) return undefined;
  const errors = (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
  return `the answer does not match the schema ${format.json_schema.name}: ${errors.join('; ')}`;
}
