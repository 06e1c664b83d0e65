import { z } from 'zod';
import { embeddingSimilarity } from './embedding-similarity.ts';
import { javascript } from './javascript.ts';
import { llmJudge } from './llm-judge.ts';
import { pairwiseJudge } from './pairwise-judge.ts';
import { jsonSchema, jsonValid, numeric } from './structured.ts';
import { contains, exactMatch, regex } from './text.ts';
import { costUnder, latencyUnder, tokensUnder, toolCalled } from './trace.ts';
import type { EvaluatorKind } from './types.ts';

/**
 * The one registry of evaluator kinds: the API's `evaluators` schema, the `type` enum and the
 * kinds listed at GET /v1/evaluators/kinds all come from it. Adding one: its file (a `defineEvaluator`),
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
  pairwise_judge: pairwiseJudge,
  embedding_similarity: embeddingSimilarity,
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
  /** Set on a spec read from a named evaluator (experiments record it): which one, which version. */
  ref?: PinnedRef;
  [param: string]: unknown;
}

/** The named evaluator (and its version) a resolved spec came from. */
export interface PinnedRef {
  id: string;
  name: string;
  version: number;
}

/** A named evaluator's name: a slug, so `name@3` reads one way. */
export const evaluatorNamePattern = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/**
 * A named evaluator picked where an inline spec is taken: `{"ref": "helpfulness"}` (its newest
 * version; an experiment pins the version it starts with) or `{"ref": "helpfulness@3"}`, with an
 * optional score `name` (default: the evaluator's name).
 */
export const evaluatorRef = z
  .object({
    ref: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,99}(@[1-9][0-9]{0,8})?$/, 'a named evaluator: `name` or `name@3`'),
    name: scoreName.optional(),
  })
  .strict();
export type EvaluatorRef = z.infer<typeof evaluatorRef>;

/** Either an inline spec or a reference to a named evaluator. */
export type EvaluatorEntry = EvaluatorSpec | EvaluatorRef;

export const isRef = (e: EvaluatorEntry | EvaluatorSpec): e is EvaluatorRef =>
  'ref' in e && typeof e.ref === 'string';

/** `name` or `name@3` as its parts (version undefined: the newest). */
export function parseRef(ref: string): { name: string; version?: number } {
  const at = ref.indexOf('@');
  return at < 0 ? { name: ref } : { name: ref.slice(0, at), version: Number(ref.slice(at + 1)) };
}

/** The score name an entry produces: its `name`, else the referenced evaluator's name, else the type. */
export const entryName = (e: EvaluatorEntry): string =>
  isRef(e) ? (e.name ?? parseRef(e.ref).name) : (e.name ?? e.type);

export const evaluatorSpec = z.discriminatedUnion(
  'type',
  evaluatorTypes.map((type) =>
    evaluatorKinds[type].params.safeExtend({
      type: z.literal(type),
      /** The score's name (default: the type); unique within an experiment. */
      name: scoreName.optional(),
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<EvaluatorSpec>;

/** One entry of a set: a reference (it has `ref`) or an inline spec (it has `type`). */
export const evaluatorEntry = z.union([evaluatorRef, evaluatorSpec], {
  // A union's own message says only "Invalid input": say what was wrong with the inline spec instead.
  error: (iss) => {
    const inner = (
      iss as { errors?: { path?: PropertyKey[]; message?: string; note?: string; options?: unknown[] }[][] }
    ).errors?.[1]?.[0];
    if (!inner) return undefined;
    if (inner.note === 'No matching discriminator')
      return `type: one of ${(inner.options ?? []).join(', ')} (or a named evaluator: {"ref": "name"})`;
    return `${(inner.path ?? []).map(String).join('.') || 'spec'}: ${inner.message ?? 'invalid'}`;
  },
}) as unknown as z.ZodType<EvaluatorEntry>;

/** A set of evaluators (inline specs or named ones) with distinct score names. */
export const evaluatorSet = z
  .array(evaluatorEntry)
  .min(1)
  .max(20)
  .superRefine((specs, ctx) => {
    const seen = new Set<string>();
    specs.forEach((s, i) => {
      const name = entryName(s);
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

/** The kinds with their parameters as JSON Schema, for GET /v1/evaluators/kinds. */
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
