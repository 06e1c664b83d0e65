import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badParam } from '../../models/request-support.ts';
import type { CallTiming } from '../../models/types.ts';
import { callContext, serverTiming } from '../openai-context.ts';
import { sendOpenAIError } from '../openai-errors.ts';
import type { Services } from '../services.ts';

const body = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(2048),
    z.array(z.number()).min(1),
    z.array(z.array(z.number())).min(1),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().max(65_536).optional(),
});

/**
 * POST /v1/embeddings (OpenAI-compatible): through the gateway like chat, so policy, budgets, rate
 * limits, fallbacks and usage apply; the inputs count as prompt tokens. Other fields (`user`) go on
 * unchanged to OpenAI-type providers. `base64` answers each vector as little-endian float32s, as
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
        schema: { tags: ['models'], summary: 'Embeddings (OpenAI-compatible)', body },
        errorHandler: sendOpenAIError,
      },
      async (req, reply) => {
        const started = performance.now();
        const { model, input, encoding_format, dimensions, ...extra } = req.body;
        if (typeof input !== 'string' && input.some((x) => typeof x !== 'string')) {
          throw badParam('input', 'token arrays are not supported: send the text to embed');
        }
        const texts = typeof input === 'string' ? [input] : (input as string[]);
        const timing: CallTiming = {};
        const res = await models.embed(
          {
            model,
            input: texts,
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

function base64Of(v: number[]): string {
  const f = Float32Array.from(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}
