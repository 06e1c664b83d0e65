import { z } from 'zod';
import type { CallTiming } from '../../models/types.ts';
import { asText, defineEvaluator, EvaluatorError } from './types.ts';

/** Texts are cut to this many characters before embedding: an embedding call has a bounded price. */
const TEXT_CHARS = 20_000;

/**
 * Cosine similarity between the embeddings of the output and the expected output, through the
 * model gateway's embeddings (any configured embedding model; every `mock/…` model embeds offline
 * and deterministically). The score is the cosine clamped to [0, 1] (opposite meanings score 0);
 * it passes at `threshold`. The judge's own budget (`judge_max_cost_usd`) counts these calls too.
 */
export const embeddingSimilarity = defineEvaluator({
  description:
    'Cosine similarity of the output and the expected output embedded by `model` (any embedding model; `mock/embed` offline); passes at `threshold` (0.8).',
  cheap: false,
  params: z
    .object({
      model: z.string().min(1).max(200),
      threshold: z.number().min(0).max(1).default(0.8),
    })
    .strict(),
  create: (p, deps) => async (c, ctx) => {
    const embed = deps.embed;
    if (!embed)
      throw new EvaluatorError('the embeddings of the model gateway are not available to evaluators here');
    if (c.expected === null || c.expected === undefined)
      throw new EvaluatorError('no expected output to compare the output with');
    if (ctx.judgeBudget && (await ctx.judgeBudget.left()) <= 0)
      throw new EvaluatorError("the judge's own budget is spent");
    const texts = [asText(c.output), asText(c.expected)].map((t) => t.slice(0, TEXT_CHARS));
    const timing: CallTiming = {};
    let vectors: number[][];
    try {
      vectors = (
        await embed(
          { model: p.model, input: texts },
          {
            tenantId: ctx.tenantId,
            tenantName: ctx.tenantName,
            agentName: 'evaluator:embedding_similarity',
            signal: ctx.signal,
            timing,
          },
        )
      ).data;
    } catch (err) {
      throw new EvaluatorError(`the embedding model ${p.model} failed: ${(err as Error).message}`);
    } finally {
      if (timing.cost) await ctx.judgeBudget?.charge(timing.cost);
    }
    const [a, b] = vectors;
    if (!a || !b || a.length !== b.length || a.length === 0)
      throw new EvaluatorError(`the embedding model ${p.model} did not answer with two vectors of one size`);
    const similarity = cosine(a, b);
    const score = Math.round(Math.min(1, Math.max(0, similarity)) * 1e4) / 1e4;
    const pass = similarity >= p.threshold;
    return {
      score,
      pass,
      ...(!pass && { reason: `cosine similarity ${score} is below ${p.threshold}` }),
    };
  },
});

/** The cosine of two vectors of one length; 0 when either is all zeros. */
function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
