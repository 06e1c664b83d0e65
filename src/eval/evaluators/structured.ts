import type { ValidateFunction } from 'ajv';
import { z } from 'zod';
import { clientJsonSchema } from '../../text/client-schema.ts';
import { compileSchema, schemaAjv } from '../../text/schema-ajv.ts';
import { asText, binary, defineEvaluator, EvaluatorError } from './types.ts';

/** Evaluators over the output's structure: JSON, JSON Schema, a number within a tolerance. */

function parseJson(output: string | null): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(stripFence(output ?? '')) };
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` };
  }
}

/** Models often wrap JSON in a Markdown code fence; the fence is not part of the answer. */
const stripFence = (s: string) => s.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n?```$/, '$1');

export const jsonValid = defineEvaluator({
  description: 'The output is JSON (a Markdown code fence around it is allowed).',
  cheap: true,
  params: z.object({}).strict(),
  create: () => async (c) => {
    const parsed = parseJson(c.output);
    return binary(parsed.ok, parsed.ok ? undefined : parsed.message);
  },
});

const ajv = schemaAjv();

export const jsonSchema = defineEvaluator({
  description: 'The output is JSON that satisfies `schema` (JSON Schema; patterns match in linear time).',
  cheap: true,
  params: z
    .object({
      schema: clientJsonSchema(),
    })
    .strict(),
  create: (p) => {
    const validate: ValidateFunction = compileSchema(ajv, p.schema);
    return async (c) => {
      const parsed = parseJson(c.output);
      if (!parsed.ok) return binary(false, parsed.message);
      if (validate(parsed.value)) return binary(true);
      const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      return binary(false, why);
    };
  },
});

const NUMBER = /-?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?/i;

export const numeric = defineEvaluator({
  description:
    "The first number in the output is within `tolerance` of the expected number (`expected`, else the item's); `relative`: tolerance as a fraction of it.",
  cheap: true,
  params: z
    .object({
      expected: z.number().optional(),
      tolerance: z.number().min(0).default(0),
      relative: z.boolean().optional(),
    })
    .strict(),
  create: (p) => async (c) => {
    // No expected output is no number: `Number('')` would read it as 0 and judge against that.
    const given = asText(c.expected).trim();
    const want = p.expected ?? (given === '' ? Number.NaN : Number(given.replace(',', '.')));
    if (!Number.isFinite(want))
      throw new EvaluatorError('no expected number: give one in the item or the evaluator');
    const found = NUMBER.exec(c.output ?? '')?.[0];
    if (found === undefined) return binary(false, 'no number in the output');
    const got = Number(found.replace(',', '.'));
    const allowed = p.relative ? Math.abs(want) * p.tolerance : p.tolerance;
    const off = Math.abs(got - want);
    return binary(off <= allowed, `got ${got}, expected ${want} ± ${allowed}`);
  },
});
