import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { principalOf } from '../caller.ts';
import { sendOpenAIError } from '../openai-errors.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

const model = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number(),
  owned_by: z.string(),
});
const modelList = z.object({ object: z.literal('list'), data: z.array(model) });

/**
 * GET /v1/models: OpenAI's list shape, limited to the models the caller's tenant may use; GET
 * /v1/models/{id} one of them, the id taken whole (ids hold `/`). Errors in OpenAI's shape.
 */
export const modelRoutes =
  ({ models }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/models',
      {
        schema: {
          tags: ['models'],
          summary: 'Models this tenant may use',
          response: { 200: modelList, ...authErrors },
        },
        errorHandler: sendOpenAIError,
      },
      async (req) => ({
        object: 'list' as const,
        data: models.modelsFor(principalOf(req).tenantName).map(modelOf),
      }),
    );
    app.get(
      '/v1/models/*',
      {
        schema: {
          tags: ['models'],
          summary: 'One model this tenant may use (its id may hold slashes)',
          params: z.object({ '*': z.string().min(1).max(200) }),
          response: { 200: model },
        },
        errorHandler: sendOpenAIError,
      },
      async (req) => {
        const id = req.params['*'];
        const tenant = principalOf(req).tenantName;
        // A known model, or any provider/model the catalog resolves and the policy allows.
        if (models.modelsFor(tenant).includes(id) || models.servable(tenant, id)) return modelOf(id);
        throw new AppError('not_found', `model ${id} not found`, { details: { param: 'model' } });
      },
    );
  };

function modelOf(id: string) {
  return {
    id,
    object: 'model' as const,
    created: 0,
    owned_by: id.includes('/') ? id.slice(0, id.indexOf('/')) : 'alias',
  };
}
