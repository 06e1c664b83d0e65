import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { principalOf } from '../plugins/auth.ts';
import { authErrors } from './common.ts';

const modelList = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({ id: z.string(), object: z.literal('model'), created: z.number(), owned_by: z.string() }),
  ),
});

/** GET /v1/models: OpenAI's list shape, limited to the models the caller's tenant may use. */
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
      },
      async (req) => ({
        object: 'list' as const,
        data: models.modelsFor(principalOf(req).tenantName).map((id) => ({
          id,
          object: 'model' as const,
          created: 0,
          owned_by: id.includes('/') ? id.slice(0, id.indexOf('/')) : 'alias',
        })),
      }),
    );
  };
