import { RE2JS } from 're2js';
import { z } from 'zod';
import { asText, binary, defineEvaluator, EvaluatorError } from './types.ts';

/** Evaluators over the output's text: exact match, contains, regular expression (linear time). */

const expectedOf = (given: unknown, item: unknown): string => {
  const v = given ?? item;
  if (v === undefined || v === null)
    throw new EvaluatorError('no expected output: give one in the item or the evaluator');
  return asText(v);
};

const normalise = (s: string, p: { ignore_case?: boolean; trim?: boolean }) => {
  const t = p.trim === false ? s : s.trim();
  return p.ignore_case ? t.toLowerCase() : t;
};

export const exactMatch = defineEvaluator({
  description:
    "The output equals the expected output (the item's, or `expected`); trimmed, optionally case-blind.",
  cheap: true,
  params: z
    .object({
      expected: z.string().max(100_000).optional(),
      ignore_case: z.boolean().optional(),
      trim: z.boolean().optional(),
    })
    .strict(),
  create: (p) => async (c) => {
    const want = normalise(expectedOf(p.expected, c.expected), p);
    const got = normalise(c.output ?? '', p);
    return binary(got === want, got === want ? undefined : `expected ${clip(want)}, got ${clip(got)}`);
  },
});

export const contains = defineEvaluator({
  description: "The output contains the text (or every text) of `value`, else the item's expected output.",
  cheap: true,
  params: z
    .object({
      value: z
        .union([z.string().min(1).max(10_000), z.array(z.string().min(1).max(10_000)).min(1).max(100)])
        .optional(),
      ignore_case: z.boolean().optional(),
    })
    .strict(),
  create: (p) => async (c) => {
    const wanted = p.value === undefined ? [expectedOf(undefined, c.expected)] : [p.value].flat();
    const out = normalise(c.output ?? '', { ...p, trim: false });
    const missing = wanted.filter((w) => !out.includes(normalise(w, { ...p, trim: false })));
    return {
      score: (wanted.length - missing.length) / wanted.length,
      pass: missing.length === 0,
      ...(missing.length > 0 && { reason: `missing ${missing.map(clip).join(', ')}` }),
    };
  },
});

/**
 * Compiled with RE2 (as task input schemas' patterns are, `text/schema-ajv.ts`): matching takes
 * time linear in the output whatever the pattern, so a client's pattern cannot stall the process.
 */
export function compileLinear(pattern: string, flags = ''): RE2JS {
  let f = 0;
  if (flags.includes('i')) f |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) f |= RE2JS.MULTILINE;
  if (flags.includes('s')) f |= RE2JS.DOTALL;
  return RE2JS.compile(RE2JS.translateRegExp(pattern), f);
}

export const regex = defineEvaluator({
  description:
    'The output matches a regular expression (RE2 syntax: linear time, no lookaround or backreferences).',
  cheap: true,
  params: z
    .object({
      pattern: z
        .string()
        .min(1)
        .max(2_000)
        .superRefine((p, ctx) => {
          try {
            compileLinear(p);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: `not a usable pattern: ${(err as Error).message}` });
          }
        }),
      flags: z
        .string()
        .regex(/^[ims]*$/)
        .optional(),
    })
    .strict(),
  create: (p) => {
    const re = compileLinear(p.pattern, p.flags);
    return async (c) => {
      const ok = re.matcher(c.output ?? '').find();
      return binary(ok, ok ? undefined : `no match for /${p.pattern}/`);
    };
  },
});

export const clip = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 79)}…` : s);
