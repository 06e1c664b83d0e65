import { z } from 'zod';
import type { CallTiming } from '../../models/types.ts';
import { renderJson } from '../../text/render-json.ts';
import { defineEvaluator, EvaluatorError } from './types.ts';

const SYSTEM = [
  'You are an evaluation judge. Read the case (JSON: rubric, input, output, expected) and score the',
  'output against the rubric, from 0 (fails it entirely) to 1 (meets it fully). When an expected',
  'output is given, compare the output with it. Answer with JSON only, nothing around it:',
  '{"score": <number from 0 to 1>, "reason": "<one sentence>"}',
].join('\n');

/** Cases are cut to this many characters per field: a judge prompt has a bounded price. */
const FIELD_CHARS = 20_000;

/**
 * An LLM judge: the rubric and the case go through the model gateway to any configured model (the
 * tenant's policy, budgets and rate limits apply as to any call), and the judge may have a budget
 * of its own (`EvalContext.judgeBudget`: an experiment's `judge_max_cost_usd`). `mock/judge` is a
 * deterministic judge for offline tests (models/providers/mock-judge.ts).
 */
export const llmJudge = defineEvaluator({
  description:
    'A model scores the output against `rubric` (0 to 1, with a reason); passes at `pass_threshold` (0.5). Any configured model; `mock/judge` offline.',
  cheap: false,
  params: z
    .object({
      model: z.string().min(1).max(200),
      rubric: z.string().min(1).max(20_000),
      pass_threshold: z.number().min(0).max(1).default(0.5),
      max_tokens: z.number().int().min(16).max(4096).default(256),
    })
    .strict(),
  create: (p, deps) => async (c, ctx) => {
    const models = deps.models;
    if (!models) throw new EvaluatorError('the model gateway is not available to evaluators here');
    if (ctx.judgeBudget && (await ctx.judgeBudget.left()) <= 0)
      throw new EvaluatorError("the judge's own budget is spent");
    const kase = {
      rubric: p.rubric,
      input: clip(c.input),
      output: clip(c.output),
      ...(c.expected !== null && c.expected !== undefined && { expected: clip(c.expected) }),
    };
    const timing: CallTiming = {};
    let answer: string;
    try {
      const completion = await models.complete(
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
          agentName: 'evaluator:llm_judge',
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
    const { score, reason } = readVerdict(answer);
    return { score, pass: score >= p.pass_threshold, reason };
  },
});

const clip = (v: unknown): unknown => {
  const s = typeof v === 'string' ? v : v === undefined ? null : renderJson(v);
  return typeof s === 'string' && s.length > FIELD_CHARS ? `${s.slice(0, FIELD_CHARS)}…` : s;
};

/** The first JSON object in the judge's answer, with a score in [0, 1] (a 0–10 or 0–100 scale is scaled down). */
export function readVerdict(answer: string): { score: number; reason: string } {
  const start = answer.indexOf('{');
  const end = answer.lastIndexOf('}');
  // An answer that is not JSON leaves `value` unset: the score below is then NaN, reported as such.
  let value: { score?: unknown; reason?: unknown } | undefined;
  try {
    value = start >= 0 && end > start ? JSON.parse(answer.slice(start, end + 1)) : undefined;
  } catch {}
  let score = typeof value?.score === 'number' ? value.score : Number.NaN;
  if (score > 1 && score <= 10) score /= 10;
  else if (score > 10 && score <= 100) score /= 100;
  if (!Number.isFinite(score) || score < 0 || score > 1)
    throw new EvaluatorError(
      `the judge did not answer with a score from 0 to 1: ${JSON.stringify(answer.slice(0, 200))}`,
    );
  return { score, reason: typeof value?.reason === 'string' ? value.reason.slice(0, 2000) : '' };
}
