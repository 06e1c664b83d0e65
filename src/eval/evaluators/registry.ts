import { z } from 'zod';
import { javascript } from './javascript.ts';
import { llmJudge } from './llm-judge.ts';
import { jsonSchema, jsonValid, numeric } from './structured.ts';
import { contains, exactMatch, regex } from './text.ts';
import { costUnder, latencyUnder, tokensUnder, toolCalled } from './trace.ts';
import type { EvaluatorKind } from './types.ts';

/**
 * The one registry of evaluator kinds: the API's `evaluators` schema, the `type` enum and the
 * kinds listed at GET /v1/evaluators all come from it. Adding one: its file (a `defineEvaluator`),
 * its entry here, a test in test/eval/.
 */
export const evaluatorKinds = {
  exact_match: exactMatch,
  contains,
  regex,
  json_valid: jsonValid,
  json_schema: jsonSchema,
  numeric,
  tool_called: toolCalled,
  latency_under: latencyUnder,
  tokens_under: tokensUnder,
  cost_under: costUnder,
  llm_judge: llmJudge,
  javascript,
} satisfies Record<string, EvaluatorKind>;

export type EvaluatorType = keyof typeof evaluatorKinds;
export const evaluatorTypes = Object.keys(evaluatorKinds) as [EvaluatorType, ...EvaluatorType[]];

const scoreName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'letters, digits, ".", "_", ":" and "-"');

/** One evaluator as a client configures it: its `type`, an optional `name` (default: the type) and its parameters. */
export interface EvaluatorSpec {
  type: EvaluatorType;
  name?: string;
  [param: string]: unknown;
}

export const evaluatorSpec = z.discriminatedUnion(
  'type',
  evaluatorTypes.map((type) =>
    evaluatorKinds[type].params.extend({
      type: z.literal(type),
      /** The score's name (default: the type); unique within an experiment. */
      name: scoreName.optional(),
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<EvaluatorSpec>;

/** A set of evaluators with distinct names. */
export const evaluatorSet = z
  .array(evaluatorSpec)
  .min(1)
  .max(20)
  .superRefine((specs, ctx) => {
    const seen = new Set<string>();
    specs.forEach((s, i) => {
      const name = s.name ?? s.type;
      if (seen.has(name))
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `two evaluators are named ${name}: name them apart`,
        });
      seen.add(name);
    });
  });

export const evaluatorKindSchema = z.object({
  type: z.string(),
  description: z.string(),
  cheap: z.boolean(),
  params: z.record(z.string(), z.unknown()),
});

/** The kinds with their parameters as JSON Schema, for GET /v1/evaluators. */
export const describeKinds = () =>
  evaluatorTypes.map((type) => ({
    type,
    description: evaluatorKinds[type].description,
    cheap: evaluatorKinds[type].cheap,
    params: z.toJSONSchema(evaluatorKinds[type].params, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >,
  }));
