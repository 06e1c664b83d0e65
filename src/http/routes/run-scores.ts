import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newScoreBody, scoreSchema } from '../../eval/scores/scores.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, idParams } from './common.ts';

const tags = ['runs'];

export const runScoreRoutes =
  ({ scores, sessions }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // As on every /v1/runs/:id route: a run of another user's private session is not found.
    app.addHook('preHandler', async (req) => {
      const id = (req.params as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && req.principal)
        await sessions.assertRunVisible(req.principal.tenantId, id, viewerOf(req));
    });

    app.post(
      '/v1/runs/:id/scores',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Attach a score (name, value, comment, source: human, evaluator or api) to a run',
          params: idParams,
          body: newScoreBody,
          response: { 201: scoreSchema, ...authErrors },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await scores.add(principalOf(req).tenantId, req.params.id, req.body, actorOf(req))),
    );

    app.get(
      '/v1/runs/:id/scores',
      {
        schema: {
          tags,
          summary: "A run's scores, oldest first",
          params: idParams,
          response: { 200: z.object({ data: z.array(scoreSchema) }), ...authErrors },
        },
      },
      async (req) => ({ data: await scores.list(principalOf(req).tenantId, req.params.id) }),
    );
  };
