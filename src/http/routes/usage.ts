import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { AppError } from '../../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { authErrors } from './common.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC date, YYYY-MM-DD');
const query = z
  .object({
    /** First day included (UTC); default 30 days ago. */
    from: day.optional(),
    /** Last day included (UTC); default today. */
    to: day.optional(),
    agent: z.string().min(1).max(200).optional(),
    model: z.string().min(1).max(200).optional(),
  })
  .strict();

const row = z.object({
  day: z.string(),
  agent: z.string().nullable(),
  model: z.string(),
  requests: z.number(),
  errors: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost: z.number(),
});

/** GET /v1/usage: the caller's tenant's model usage by day, agent and model. */
export const usageRoutes =
  ({ models }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/usage',
      {
        schema: {
          tags: ['models'],
          summary: 'Model usage by day, agent and model',
          querystring: query,
          response: {
            200: z.object({ from: z.string(), to: z.string(), data: z.array(row) }),
            ...authErrors,
          },
        },
      },
      async (req) => {
        const today = new Date().toISOString().slice(0, 10);
        const to = req.query.to ?? today;
        const from = req.query.from ?? new Date(Date.parse(to) - 29 * 86_400_000).toISOString().slice(0, 10);
        const fromDate = new Date(`${from}T00:00:00Z`);
        const toDate = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000);
        if (Number.isNaN(fromDate.getTime()) || Number.isNaN(toDate.getTime())) {
          throw new AppError('validation_error', 'from and to must be real dates');
        }
        if (fromDate >= toDate) throw new AppError('validation_error', 'from must not be after to');
        const data = await models.usage.query({
          tenantId: principalOf(req).tenantId,
          from: fromDate,
          to: toDate,
          agent: req.query.agent,
          model: req.query.model,
        });
        return { from, to, data };
      },
    );
  };
