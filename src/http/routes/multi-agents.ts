import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createMultiAgentBody, multiAgentSchema, updateMultiAgentBody } from '../../agents/schema.ts';
import { pageOf, pageQuery } from '../../db/page.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, idParams } from './common.ts';

const tags = ['multi-agents'];

export const multiAgentRoutes =
  ({ multiAgents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/multi-agents',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Create a swarm or DAG spec',
          body: createMultiAgentBody,
          response: { 201: multiAgentSchema, ...authErrors },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await multiAgents.create(principalOf(req).tenantId, req.body, actorOf(req))),
    );

    app.get(
      '/v1/multi-agents',
      {
        schema: {
          tags,
          summary: 'List multi-agent specs',
          querystring: pageQuery,
          response: { 200: pageOf(multiAgentSchema), ...authErrors },
        },
      },
      async (req) => multiAgents.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/multi-agents/:id',
      {
        schema: {
          tags,
          summary: 'Get a multi-agent spec',
          params: idParams,
          response: { 200: multiAgentSchema, ...authErrors },
        },
      },
      async (req) => multiAgents.get(principalOf(req).tenantId, req.params.id),
    );

    app.patch(
      '/v1/multi-agents/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Change a multi-agent spec',
          params: idParams,
          body: updateMultiAgentBody,
          response: { 200: multiAgentSchema, ...authErrors },
        },
      },
      async (req) => multiAgents.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
    );

    app.delete(
      '/v1/multi-agents/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a multi-agent spec; 409 naming the agents that run it (env multi_agent)',
          params: idParams,
          response: { 204: z.null(), ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) => {
        await multiAgents.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );
  };
