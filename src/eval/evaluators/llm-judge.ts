import { z } from 'zod';
import type { CallTiming } from '../../models/types.ts';
import { renderJson } from '../../text/render-json.ts';
import { defineEvaluator, EvaluatorError } from './types.ts';

const system = (min: number, max: number) =>
  [
    'You are an evaluation judge. Read the case (JSON: rubric, input, output, expected) and score the',
    `output against the rubric, from ${min} (fails it entirely) to ${max} (meets it fully). When an expected`,
    'output is given, compare the output with it. Answer with JSON only, nothing around it:',
    `{"score": <number from ${min} to ${max}>, "reason": "<one sentence>"}`,
  ].join('\n');

/** A judge's scale: `{"min": 1, "max": 5}`. */
const scoreRange = z
  .object({ min: z.number().finite(), max: z.number().finite() })
  .strict()
  .refine((r) => r.max > r.min, { message: 'max must be above min', path: ['max'] });

const rangeOf = (r: { min: number; max: number } | undefined): [number, number] =>
  r ? [r.min, r.max] : [0, 1];

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
    "A model scores the output against `rubric` on `score_range` (default 0 to 1; the score is scaled to 0–1), with a reason; passes at `pass_threshold` (in the range's units; default its middle). Any configured model; `mock/judge` offline.",
  cheap: false,
  params: z
    .object({
      model: z.string().min(1).max(200),
      rubric: z.string().min(1).max(20_000),
      /** The scale the judge answers on (e.g. 1 to 5); the score is scaled to 0–1 from it. */
      score_range: scoreRange.optional(),
      /** In the range's units; absent: the middle of the range. */
      pass_threshold: z.number().finite().optional(),
      max_tokens: z.number().int().min(16).max(4096).default(256),
    })
    .strict()
    .refine(
      (p) => {
        const [min, max] = rangeOf(p.score_range);
        return p.pass_threshold === undefined || (p.pass_threshold >= min && p.pass_threshold <= max);
      },
      { message: 'pass_threshold is outside score_range', path: ['pass_threshold'] },
    ),
  create: (p, deps) => async (c, ctx) => {
    const [min, max] = rangeOf(p.score_range);
    const threshold = p.pass_threshold ?? (min + max) / 2;
    const models = deps.models;
    if (!models) throw new EvaluatorError('the model gateway is not available to evaluators here');
    if (ctx.judgeBudget && (await ctx.judgeBudget.left()) <= 0)
      throw new EvaluatorError("the judge's own budget is spent");
    const kase = {
      rubric: p.rubric,
      ...(p.score_range && { score_range: p.score_range }),
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
            { role: 'system', content: system(min, max) },
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
    if (!p.score_range) {
      const { score, reason } = readVerdict(answer);
      return { score, pass: score >= threshold, reason };
    }
    const { raw, reason } = readScore(answer, min, max);
    const score = Math.round(((raw - min) / (max - min)) * 1e4) / 1e4;
    return { score, pass: raw >= threshold, reason: `${raw} on ${min}–${max}${reason ? `: ${reason}` : ''}` };
  },
});

const clip = (v: unknown): unknown => {
  const s = typeof v === 'string' ? v : v === undefined ? null : renderJson(v);
  return typeof s === 'string' && s.length > FIELD_CHARS ? `${s.slice(0, FIELD_CHARS)}…` : s;
};

/** The first JSON object in a judge's answer (undefined when there is none). */
export function firstObject(answer: string): Record<string, unknown> | undefined {
  const start = answer.indexOf('{');
  const end = answer.lastIndexOf('}');
  try {
    const v = start >= 0 && end > start ? JSON.parse(answer.slice(start, end + 1)) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    // Not JSON between its braces: the answer holds no object.
    return undefined;
  }
}

/** A score on an explicit range: taken as it is, refused outside the range (no guessing of scale). */
function readScore(answer: string, min: number, max: number): { raw: number; reason: string } {
  const value = firstObject(answer);
  const raw = typeof value?.score === 'number' ? value.score : Number.NaN;
  if (!Number.isFinite(raw) || raw < min || raw > max)
    throw new EvaluatorError(
      `the judge did not answer with a score from ${min} to ${max}: ${JSON.stringify(answer.slice(0, 200))}`,
    );
  return { raw, reason: typeof value?.reason === 'string' ? value.reason.slice(0, 2000) : '' };
}

/** The first JSON object in the judge's answer, with a score in [0, 1] (a 0–10 or 0–100 scale is scaled down). */
export function readVerdict(answer: string): { score: number; reason: string } {
  // An answer that is not JSON leaves `value` unset: the score below is then NaN, reported as such.
  const value = firstObject(answer);
  let score = typeof value?.score === 'number' ? value.score : Number.NaN;
  if (score > 1 && score <= 10) score /= 10;
  else if (score > 10 && score <= 100) score /= 100;
  if (!Number.isFinite(score) || score < 0 || score > 1)
    throw new EvaluatorError(
      `the judge did not answer with a score from 0 to 1: ${JSON.stringify(answer.slice(0, 200))}`,
    );
  return { score, reason: typeof value?.reason === 'string' ? value.reason.slice(0, 2000) : '' };
}
