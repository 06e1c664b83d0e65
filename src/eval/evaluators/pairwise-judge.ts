import { z } from 'zod';
import type { CallTiming } from '../../models/types.ts';
import { renderJson } from '../../text/render-json.ts';
import { firstObject } from './llm-judge.ts';
import { defineEvaluator, type EvalCase, type EvalContext, type EvalDeps, EvaluatorError } from './types.ts';

const SYSTEM = [
  'You are an evaluation judge comparing two answers to the same input. Read the case (JSON: rubric,',
  'input, expected, a, b) and decide which answer meets the rubric better; when an expected output is',
  'given, compare both with it. Answer with JSON only, nothing around it:',
  '{"winner": "a" | "b" | "tie", "reason": "<one sentence>"}',
].join('\n');

const FIELD_CHARS = 20_000;

type Winner = 'a' | 'b' | 'tie';

/**
 * A pairwise judge: a model compares the output with a baseline's output for the same input
 * (`EvalCase.baseline`: an experiment's `baseline_experiment`) and says which meets the rubric
 * better. It asks twice with the answers swapped (judges favour a position), so the score is the
 * candidate's share of the two verdicts: 1 won both, 0.5 a tie or a split, 0 lost both; it passes
 * when the candidate is at least as good (0.5). With no baseline it cannot judge (an error score).
 */
export const pairwiseJudge = defineEvaluator({
  description:
    "A model compares the output with the baseline's output for the same item against `rubric`, both ways round: 1 the output wins, 0.5 a tie, 0 the baseline wins; passes at 0.5. Needs a baseline (an experiment's `baseline_experiment`); `mock/judge` offline.",
  cheap: false,
  params: z
    .object({
      model: z.string().min(1).max(200),
      rubric: z.string().min(1).max(20_000),
      max_tokens: z.number().int().min(16).max(4096).default(256),
    })
    .strict(),
  create: (p, deps) => async (c, ctx) => {
    if (!deps.models) throw new EvaluatorError('the model gateway is not available to evaluators here');
    if (c.baseline === undefined || c.baseline === null)
      throw new EvaluatorError(
        'no baseline output to compare with: give the experiment a baseline_experiment that has this item',
      );
    // The output as `b` first, then as `a`: a verdict that follows the position cancels out.
    const first = await ask(p, deps, c, ctx, c.baseline, c.output);
    const second = await ask(p, deps, c, ctx, c.output, c.baseline);
    const wins =
      (first.winner === 'b' ? 1 : first.winner === 'tie' ? 0.5 : 0) +
      (second.winner === 'a' ? 1 : second.winner === 'tie' ? 0.5 : 0);
    const score = wins / 2;
    const said = score > 0.5 ? 'the output is better' : score < 0.5 ? 'the baseline is better' : 'a tie';
    return {
      score,
      pass: score >= 0.5,
      reason: `${said} (${first.reason || first.winner}; ${second.reason || second.winner})`,
    };
  },
});

async function ask(
  p: { model: string; rubric: string; max_tokens: number },
  deps: EvalDeps,
  c: EvalCase,
  ctx: EvalContext,
  a: unknown,
  b: unknown,
): Promise<{ winner: Winner; reason: string }> {
  if (ctx.judgeBudget && (await ctx.judgeBudget.left()) <= 0)
    throw new EvaluatorError("the judge's own budget is spent");
  const kase = {
    rubric: p.rubric,
    input: clip(c.input),
    ...(c.expected !== null && c.expected !== undefined && { expected: clip(c.expected) }),
    a: clip(a),
    b: clip(b),
  };
  const timing: CallTiming = {};
  let answer: string;
  try {
    const completion = await deps.models!.complete(
      {
        model: p.model,
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: JSON.stringify(kase) },
        ],
        max_tokens: p.max_tokens,
        temperature: 0,
      },
      {
        tenantId: ctx.tenantId,
        tenantName: ctx.tenantName,
        agentName: 'evaluator:pairwise_judge',
        signal: ctx.signal,
        timing,
      },
    );
    answer = completion.message.content ?? '';
  } catch (err) {
    throw new EvaluatorError(`the judge model ${p.model} failed: ${(err as Error).message}`);
  } finally {
    if (timing.cost) await ctx.judgeBudget?.charge(timing.cost);
  }
  const value = firstObject(answer);
  const winner = typeof value?.winner === 'string' ? value.winner.toLowerCase() : '';
  if (winner !== 'a' && winner !== 'b' && winner !== 'tie')
    throw new EvaluatorError(
      `the judge did not answer with a winner (a, b or tie): ${JSON.stringify(answer.slice(0, 200))}`,
    );
  return { winner, reason: typeof value?.reason === 'string' ? value.reason.slice(0, 1000) : '' };
}

const clip = (v: unknown): unknown => {
  const s = typeof v === 'string' ? v : v === undefined ? null : renderJson(v);
  return typeof s === 'string' && s.length > FIELD_CHARS ? `${s.slice(0, FIELD_CHARS)}…` : s;
};
