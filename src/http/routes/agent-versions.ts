import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { agentSchema } from '../../agents/schema.ts';
import {
  agentVersionSchema,
  diffQuery,
  listVersionsQuery,
  rollbackBody,
  versionDiffSchema,
  versionParams,
} from '../../agents/version-schema.ts';
import { pageOf } from '../../db/page.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentParams, authErrors, errorResponse } from './common.ts';

const tags = ['agents'];

/** An agent's versions: every change of its config made one (see agents/agent-versions.ts). */
export const agentVersionRoutes =
  ({ agentVersions }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/agents/:id/versions',
      {
        schema: {
          tags,
          summary: "An agent's versions, newest first: the whole config of each, who made it, when, and why",
          params: agentParams,
          querystring: listVersionsQuery,
          response: { 200: pageOf(agentVersionSchema), ...authErrors },
        },
      },
      async (req) => agentVersions.list(principalOf(req).tenantId, req.params.id, req.query, viewerOf(req)),
    );

    app.get(
      '/v1/agents/:id/versions/diff',
      {
        schema: {
          tags,
          summary:
            'Two versions field by field (`from`, `to`, default the latest): the fields that differ, texts as unified diffs',
          params: agentParams,
          querystring: diffQuery,
          response: { 200: versionDiffSchema, ...authErrors },
        },
      },
      async (req) =>
        agentVersions.diff(
          principalOf(req).tenantId,
          req.params.id,
          req.query.from,
          req.query.to,
          viewerOf(req),
        ),
    );

    app.get(
      '/v1/agents/:id/versions/:n',
      {
        schema: {
          tags,
          summary: 'One version of an agent; 404 naming the versions it has',
          params: versionParams,
          response: { 200: agentVersionSchema, ...authErrors },
        },
      },
      async (req) => agentVersions.get(principalOf(req).tenantId, req.params.id, req.params.n, viewerOf(req)),
    );

    app.post(
      '/v1/agents/:id/versions/:n/rollback',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Roll back: a new version with the config of version n (the rules of PATCH apply; 409 when its name is taken now)',
          params: versionParams,
          body: rollbackBody.nullish(),
          response: { 200: agentSchema, ...authErrors, 409: errorResponse },
        },
      },
      async (req) =>
        agentVersions.rollback(
          principalOf(req).tenantId,
          req.params.id,
          req.params.n,
          actorOf(req),
          viewerOf(req),
          req.body?.message,
        ),
    );
  };
