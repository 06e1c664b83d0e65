import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentSchema, createAgentBody, listAgentsQuery, updateAgentBody } from '../../agents/schema.ts';
import { versionMessage } from '../../agents/version-schema.ts';
import { pageOf } from '../../db/page.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { agentParams, authErrors, errorResponse } from './common.ts';

const tags = ['agents'];
/** Every change makes a version; a client may say why. */
const withMessage = { version_message: versionMessage.optional() };
const createBody = createAgentBody.extend(withMessage);
const updateBody = updateAgentBody.extend(withMessage);

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
          summary: 'Create an agent (`budget` needs the admin scope)',
          body: createBody,
          response: { 201: agentSchema, ...authErrors },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        // The viewer carries the admin scope: `budget` is an admin's to set (403 otherwise).
        const { version_message, ...input } = req.body;
        const agent = await agents.create(
          p.tenantId,
          input,
          actorOf(req),
          p.userId,
          viewerOf(req),
          version_message,
        );
        return reply.code(201).send(agent);
      },
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
      async (req) => agents.list(principalOf(req).tenantId, req.query, viewerOf(req)),
    );

    app.get(
      '/v1/agents/:id',
      {
        schema: {
          tags,
          summary: 'Get an agent',
          params: agentParams,
          response: { 200: agentSchema, ...authErrors },
        },
      },
      async (req) => agents.resolve(principalOf(req).tenantId, req.params.id, viewerOf(req)),
    );

    app.patch(
      '/v1/agents/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Change the fields sent; the version goes up by one and is kept (GET …/versions; `budget` needs the admin scope)',
          params: agentParams,
          body: updateBody,
          response: { 200: agentSchema, ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const id = await agents.idOf(tenantId, req.params.id, viewerOf(req));
        const { version_message: note, ...input } = req.body;
        return agents.update(tenantId, id, input, actorOf(req), viewerOf(req), { note });
      },
    );

    app.delete(
      '/v1/agents/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete an agent; 409 naming the teams and agents that use it (members, handoffs)',
          params: agentParams,
          response: { 204: z.null(), ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) => {
        const { tenantId } = principalOf(req);
        const id = await agents.idOf(tenantId, req.params.id, viewerOf(req));
        await agents.delete(tenantId, id, actorOf(req), viewerOf(req));
        return reply.code(204).send(null);
      },
    );
  };
