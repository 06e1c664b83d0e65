import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentSchema, createAgentBody, listAgentsQuery, updateAgentBody } from '../../agents/schema.ts';
import type { Services } from '../../app.ts';
import { pageOf } from '../../db/page.ts';
import { actorOf, principalOf } from '../plugins/auth.ts';
import { authErrors, idParams } from './common.ts';

const tags = ['agents'];

export const agentRoutes =
  ({ agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/agents',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Create an agent',
          body: createAgentBody,
          response: { 201: agentSchema, ...authErrors },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await agents.create(principalOf(req).tenantId, req.body, actorOf(req))),
    );

    app.get(
      '/v1/agents',
      {
        schema: {
          tags,
          summary: 'List agents',
          querystring: listAgentsQuery,
          response: { 200: pageOf(agentSchema), ...authErrors },
        },
      },
      async (req) => agents.list(principalOf(req).tenantId, req.query),
    );

    app.get(
      '/v1/agents/:id',
      {
        schema: {
          tags,
          summary: 'Get an agent',
          params: idParams,
          response: { 200: agentSchema, ...authErrors },
        },
      },
      async (req) => agents.get(principalOf(req).tenantId, req.params.id),
    );

    app.patch(
      '/v1/agents/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Change the fields sent; the version goes up by one',
          params: idParams,
          body: updateAgentBody,
          response: { 200: agentSchema, ...authErrors },
        },
      },
      async (req) => agents.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req)),
    );

    app.delete(
      '/v1/agents/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete an agent',
          params: idParams,
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        await agents.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );
  };
