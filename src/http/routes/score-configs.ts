import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../db/page.ts';
import {
  newScoreConfigBody,
  scoreConfigListQuery,
  scoreConfigParams,
  scoreConfigPatch,
  scoreConfigSchema,
} from '../../eval/scores/config-schema.ts';
import { scoreAuthorOf } from '../../eval/scores/source.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse } from './common.ts';

const tags = ['scores'];

/** A tenant's score configs: what a score of a name may be (numeric range, categories, boolean). */
export const scoreConfigRoutes =
  ({ scoreConfigs }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/score-configs',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Define a score config: numeric (min, max), categorical (categories) or boolean',
          body: newScoreConfigBody,
          response: { 201: scoreConfigSchema, ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const made = await scoreConfigs.create(p.tenantId, req.body, scoreAuthorOf(p).author, actorOf(req));
        return reply.code(201).send(made);
      },
    );

    app.get(
      '/v1/score-configs',
      {
        schema: {
          tags,
          summary: "The tenant's score configs by name (archived ones with archived=true)",
          querystring: scoreConfigListQuery,
          response: { 200: pageOf(scoreConfigSchema), ...authErrors },
        },
      },
      async (req) => scoreConfigs.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/score-configs/:id',
      {
        schema: {
          tags,
          summary: 'A score config by id, or the live one of a name',
          params: scoreConfigParams,
          response: { 200: scoreConfigSchema, ...authErrors },
        },
      },
      async (req) => scoreConfigs.get(principalOf(req).tenantId, req.params.id),
    );

    app.patch(
      '/v1/score-configs/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            "Change a score config's description, or archive it (or bring it back); its kind and values never change",
          params: scoreConfigParams,
          body: scoreConfigPatch,
          response: { 200: scoreConfigSchema, ...authErrors, 409: errorResponse },
        },
      },
      async (req) => scoreConfigs.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
    );

    app.delete(
      '/v1/score-configs/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Delete a score config no score names (204); one that scores name is archived instead (200, the archived config)',
          params: scoreConfigParams,
          response: { 200: scoreConfigSchema, 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        const archived = await scoreConfigs.remove(principalOf(req).tenantId, req.params.id, actorOf(req));
        return archived ? reply.code(200).send(archived) : reply.code(204).send(null);
      },
    );
  };
