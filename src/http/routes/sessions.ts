import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../db/page.ts';
import { sessionSearchBody, sessionSearchResult } from '../../memory/session-search.ts';
import {
  listSessionsQuery,
  messageSchema,
  messagesQuery,
  sessionSchema,
  updateSessionBody,
} from '../../runtime/schema.ts';
import { actorOf, principalOf, viewerOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, idParams } from './common.ts';

const tags = ['sessions'];

export const sessionRoutes =
  ({ sessions, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/sessions',
      {
        schema: {
          tags,
          summary: 'List chat sessions, most recently active first',
          querystring: listSessionsQuery,
          response: { 200: pageOf(sessionSchema), ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const agent = req.query.agent_id && (await agents.idOf(tenantId, req.query.agent_id, viewerOf(req)));
        return sessions.list(tenantId, { ...req.query, agent_id: agent || undefined }, viewerOf(req));
      },
    );

    app.post(
      '/v1/sessions/search',
      {
        schema: {
          tags,
          summary: "Full-text search over the tenant's (or one agent's) past user and assistant messages",
          body: sessionSearchBody,
          response: { 200: sessionSearchResult, ...authErrors },
        },
      },
      async (req) => {
        const { tenantId } = principalOf(req);
        const { agent_id: ref, ...body } = req.body;
        const agent_id = ref === undefined ? undefined : await agents.idOf(tenantId, ref, viewerOf(req));
        return sessions.search(tenantId, { ...body, agent_id }, viewerOf(req));
      },
    );

    app.get(
      '/v1/sessions/:id',
      {
        schema: {
          tags,
          summary: 'Get a session',
          params: idParams,
          response: { 200: sessionSchema, ...authErrors },
        },
      },
      async (req) => sessions.get(principalOf(req).tenantId, req.params.id, viewerOf(req)),
    );

    app.patch(
      '/v1/sessions/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Rename a session, or make it private (seen by its owner and the tenant's admins only)",
          params: idParams,
          body: updateSessionBody,
          response: { 200: sessionSchema, ...authErrors },
        },
      },
      async (req) =>
        sessions.update(principalOf(req).tenantId, req.params.id, req.body, actorOf(req), viewerOf(req)),
    );

    app.get(
      '/v1/sessions/:id/messages',
      {
        schema: {
          tags,
          summary: "A session's messages in order (user, assistant, tool), after a seq",
          params: idParams,
          querystring: messagesQuery,
          response: { 200: z.object({ data: z.array(messageSchema) }), ...authErrors },
        },
      },
      async (req) => ({
        data: await sessions.messages(
          principalOf(req).tenantId,
          req.params.id,
          req.query.after,
          req.query.limit,
          viewerOf(req),
        ),
      }),
    );

    app.delete(
      '/v1/sessions/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a session with its messages, runs and workspace (409 while a run is active)',
          params: idParams,
          response: { 204: z.null(), ...authErrors, 409: errorResponse },
        },
      },
      async (req, reply) => {
        await sessions.delete(principalOf(req).tenantId, req.params.id, actorOf(req), viewerOf(req));
        return reply.code(204).send(null);
      },
    );
  };
