import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { pageOf } from '../../db/page.ts';
import { sessionSearchBody, sessionSearchResult } from '../../memory/session-search.ts';
import { listSessionsQuery, messageSchema, messagesQuery, sessionSchema } from '../../runtime/schema.ts';
import { actorOf, principalOf } from '../plugins/auth.ts';
import { authErrors, errorResponse, idParams } from './common.ts';

const tags = ['sessions'];

export const sessionRoutes =
  ({ sessions }: Services): FastifyPluginAsync =>
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
      async (req) => sessions.list(principalOf(req).tenantId, req.query),
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
      async (req) => sessions.search(principalOf(req).tenantId, req.body),
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
      async (req) => sessions.get(principalOf(req).tenantId, req.params.id),
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
        await sessions.delete(principalOf(req).tenantId, req.params.id, actorOf(req));
        return reply.code(204).send(null);
      },
    );
  };
