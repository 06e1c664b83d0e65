import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelDoorErrors, openaiErrorResponse, wireObject } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import type { CallTiming } from '../../models/types.ts';
import { callContext, serverTiming } from './context.ts';
import { openaiErrorHandler } from './errors.ts';

/** Inputs in one request, as OpenAI allows. */
const MAX_INPUTS = 2048;

const body = z
  .looseObject({
    model: z.string().min(1).max(200),
    input: z.union([
      z.string(),
      z.array(z.string()).min(1),
      z.array(z.number().int().min(0)).min(1),
      z.array(z.array(z.number().int().min(0)).min(1)).min(1),
    ]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().positive().max(65_536).optional(),
  })
  // Checked apart from the union: a bound inside one of its options fails the whole union with
  // zod's bare "Invalid input", which does not say what to change.
  .check((ctx) => {
    const { input } = ctx.value;
    if (Array.isArray(input) && typeof input[0] !== 'number' && input.length > MAX_INPUTS)
      ctx.issues.push({
        code: 'custom',
        path: ['input'],
        message: `at most ${MAX_INPUTS} items, got ${input.length}`,
        input,
      });
  });

/**
 * POST /v1/embeddings (OpenAI-compatible): through the gateway like chat, so policy, budgets, rate
 * limits, fallbacks and usage apply; the inputs count as prompt tokens. Other fields (`user`) go on
 * unchanged to OpenAI-type providers, and so does token-array input (`number[]`, `number[][]`); the
 * mock, which cannot decode token ids, embeds each list's ids joined by spaces (deterministic, and
 * no vector of text). `base64` answers each vector as little-endian float32s, as
 * OpenAI does (the official client asks for it by default).
 */
export const embeddingRoutes =
  ({ models }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/embeddings',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['models'],
          summary: 'Embeddings (OpenAI-compatible)',
          body,
          response: { 200: wireObject("OpenAI's embeddings list"), ...modelDoorErrors(openaiErrorResponse) },
        },
        errorHandler: openaiErrorHandler,
      },
      async (req, reply) => {
        const started = performance.now();
        const { model, input, encoding_format, dimensions, ...extra } = req.body;
        const tokens = tokenLists(input);
        // Token ids stand as text where text is read: budgets' estimates, the mock (which cannot decode them).
        const texts = tokens
          ? tokens.map((ids) => ids.join(' '))
          : typeof input === 'string'
            ? [input]
            : (input as string[]);
        const timing: CallTiming = {};
        const res = await models.embed(
          {
            model,
            input: texts,
            ...(tokens && { tokens }),
            ...(dimensions !== undefined && { dimensions }),
            ...(Object.keys(extra).length > 0 && { extra }),
          },
          callContext(req, reply, timing),
        );
        reply.header('server-timing', serverTiming(timing, started));
        return {
          object: 'list',
          data: res.data.map((v, index) => ({
            object: 'embedding',
            index,
            embedding: encoding_format === 'base64' ? base64Of(v) : v,
          })),
          model: res.model,
          usage: { prompt_tokens: res.prompt_tokens, total_tokens: res.prompt_tokens },
        };
      },
    );
  };

/** Token-array input (one list, or several) as lists of ids; undefined for text input. */
function tokenLists(input: string | string[] | number[] | number[][]): number[][] | undefined {
  if (typeof input === 'string' || typeof input[0] === 'string') return undefined;
  return typeof input[0] === 'number' ? [input as number[]] : (input as number[][]);
}

function base64Of(v: number[]): string {
  const f = Float32Array.from(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}
