import { z } from 'zod';
import { compileSchema, schemaAjv } from './schema-ajv.ts';
import { schemaLimitProblem } from './schema-limits.ts';

const ajv = schemaAjv();

/**
 * A JSON Schema a client sends, as every route that accepts one reads it: an object within the
 * bounds of `schema-limits.ts` (refused with the keyword's place: `…schema.items.minItems`) and,
 * unless `compile` is false, one that ajv compiles under its declared version (draft-07 or
 * 2020-12, `schema-ajv.ts`). A schema that cannot be used is a 400 where it is accepted, never a
 * failed run later. Tool parameter schemas are only bounded: the server never validates against
 * them, the model provider reads them.
 */
export function clientJsonSchema(options: { compile?: boolean } = {}) {
  const compile = options.compile ?? true;
  return z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
    const problem = schemaLimitProblem(schema);
    if (problem) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      return;
    }
    if (!compile) return;
    try {
      compileSchema(ajv, schema);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `not a usable JSON Schema: ${(err as Error).message.slice(0, 500)}`,
      });
    }
  });
}
