import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  deployBody,
  deploymentList,
  deploymentSchema,
  MAX_BUNDLE_BYTES,
} from '../../agents/local-dev/schema.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentIdOf, agentParams, authErrors, errorResponse } from './common.ts';

const tags = ['local-dev agents'];

export const deploymentRoutes =
  ({ deployments, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/agents/:id/deployments',
      {
        config: { auth: 'write' },
        // A bundle holds the agent and what it imports: more than the usual JSON body limit.
        bodyLimit: MAX_BUNDLE_BYTES + 64 * 1024,
        schema: {
          tags,
          summary:
            'Deploy a new version of a local-dev agent (env pool): built, loaded in a sandbox, then current',
          params: agentParams,
          body: deployBody,
          response: { 201: deploymentSchema, ...authErrors, 422: errorResponse, 503: errorResponse },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(
            await deployments.deploy(
              principalOf(req).tenantId,
              await agentIdOf(agents, req, req.params.id),
              req.body.bundle,
              actorOf(req),
            ),
          ),
    );

    app.get(
      '/v1/agents/:id/deployments',
      {
        schema: {
          tags,
          summary: "An agent's deployments, newest (current) first",
          params: agentParams,
          response: { 200: deploymentList, ...authErrors },
        },
      },
      async (req) => ({
        data: await deployments.list(principalOf(req).tenantId, await agentIdOf(agents, req, req.params.id)),
      }),
    );
  };
