import { z } from 'zod';
import { endSpan, SpanKind, type SpanParent, startSpan } from '../../observability/spans.ts';
import { type EvaluatorSpec, evaluatorKinds } from './registry.ts';
import type { EvalCase, EvalContext, EvalDeps, Evaluate } from './types.ts';

/** One evaluator's outcome on one case: a score, or an error (it could not judge), never both. */
export const scoreResult = z.object({
  name: z.string(),
  evaluator: z.string(),
  score: z.number().nullable(),
  pass: z.boolean().nullable(),
  reason: z.string().optional(),
  error: z.string().optional(),
});
export type ScoreResult = z.infer<typeof scoreResult>;

export interface BoundEvaluator {
  name: string;
  type: string;
  evaluate: Evaluate;
}

/** Makes each spec's scoring function once (patterns and schemas compiled once per experiment). */
export function bindEvaluators(specs: readonly EvaluatorSpec[], deps: EvalDeps): BoundEvaluator[] {
  return specs.map((spec) => {
    // `ref` records the named evaluator a spec came from; it is no parameter of the kind.
    const { type, name, ref: _ref, ...params } = spec;
    const kind = evaluatorKinds[type];
    // Checked at the edge already; parsing again applies the kind's defaults.
    const parsed = kind.params.parse(params);
    return {
      name: name ?? type,
      type,
      evaluate: (kind.create as (p: unknown, d: EvalDeps) => Evaluate)(parsed, deps),
    };
  });
}

/**
 * Runs every evaluator on a case, side by side, each in a span of its own (`eval.evaluator`). One
 * that throws (or whose program loops past its limit) gets an error entry; the others still score.
 */
export async function scoreCase(
  evaluators: readonly BoundEvaluator[],
  kase: EvalCase,
  ctx: EvalContext,
  trace?: SpanParent,
  observe?: (evaluator: BoundEvaluator, result: ScoreResult) => void,
): Promise<ScoreResult[]> {
  return Promise.all(
    evaluators.map(async (e) => {
      const span = startSpan(
        'eval.evaluator',
        SpanKind.INTERNAL,
        { 'agentry.evaluator.name': e.name, 'agentry.evaluator.type': e.type },
        trace,
      );
      let result: ScoreResult;
      try {
        const v = await e.evaluate(kase, ctx);
        result = {
          name: e.name,
          evaluator: e.type,
          score: v.score,
          pass: v.pass,
          ...(v.reason && { reason: v.reason }),
        };
        span.setAttribute('agentry.evaluator.score', v.score);
        endSpan(span);
      } catch (err) {
        const message = (err as Error).message || String(err);
        result = { name: e.name, evaluator: e.type, score: null, pass: null, error: message.slice(0, 2000) };
        endSpan(span, { type: 'evaluator_error', message });
      }
      observe?.(e, result);
      return result;
    }),
  );
}
