import { z } from 'zod';
import { defineEvaluator, EvaluatorError, type Verdict } from './types.ts';

/**
 * A custom evaluator: JavaScript run in a fresh QuickJS sandbox (the one `run_javascript` uses: no
 * host objects, no I/O, a time and memory limit, off the event loop). It sees `input` as
 * `{input, output, expected, trace}` and its last expression is the verdict: a boolean, a number in
 * [0, 1], or `{score, pass?, reason?}`. A program that throws, loops past its time limit or
 * answers anything else gives this evaluator an error on that item, not a score.
 */
export const javascript = defineEvaluator({
  description:
    'JavaScript in the QuickJS sandbox: sees `input.input`, `input.output`, `input.expected`, `input.trace`; its last expression is a boolean, a score, or {score, pass?, reason?}.',
  cheap: false,
  params: z
    .object({
      code: z.string().min(1).max(100_000),
      /** Shortens the sandbox's own time limit for this evaluator. */
      timeout_ms: z.number().int().min(10).max(60_000).optional(),
      pass_threshold: z.number().min(0).max(1).default(1),
    })
    .strict(),
  create: (p, deps) => async (c, ctx) => {
    if (!deps.runJavascript) throw new EvaluatorError('the QuickJS sandbox is not available here');
    let result: Awaited<ReturnType<NonNullable<typeof deps.runJavascript>>>;
    try {
      result = await deps.runJavascript({
        code: p.code,
        input: { input: c.input, output: c.output, expected: c.expected ?? null, trace: c.trace },
        timeout_ms: p.timeout_ms,
        signal: ctx.signal,
      });
    } catch (err) {
      throw new EvaluatorError((err as Error).message);
    }
    if (result.killed) throw new EvaluatorError(`the evaluator was stopped: ${result.killed}`);
    if (result.exit_code !== 0)
      throw new EvaluatorError(`the evaluator threw: ${result.stderr.trim().slice(0, 1000) || 'an error'}`);
    return verdictOf(result.value, p.pass_threshold);
  },
});

function verdictOf(value: unknown, threshold: number): Verdict {
  if (typeof value === 'boolean') return { score: value ? 1 : 0, pass: value };
  if (typeof value === 'number' && value >= 0 && value <= 1)
    return { score: value, pass: value >= threshold };
  if (value && typeof value === 'object') {
    const v = value as { score?: unknown; pass?: unknown; reason?: unknown };
    if (typeof v.score === 'number' && v.score >= 0 && v.score <= 1)
      return {
        score: v.score,
        pass: typeof v.pass === 'boolean' ? v.pass : v.score >= threshold,
        ...(typeof v.reason === 'string' && { reason: v.reason.slice(0, 2000) }),
      };
  }
  throw new EvaluatorError(
    `the evaluator answered ${JSON.stringify(value)?.slice(0, 200)}: expected a boolean, a score from 0 to 1, or {score, pass?, reason?}`,
  );
}
