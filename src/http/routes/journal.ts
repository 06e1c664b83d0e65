import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { journalPage, journalQuery } from '../../events/journal-query.ts';
import { principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';

/** GET /v1/journal: the tenant's audit journal, for its admins. */
export const journalRoutes =
  ({ journal }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/journal',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['operations'],
          summary:
            "The tenant's audit journal, newest first: by actor, action, object and time; cursor pages",
          querystring: journalQuery,
          response: { 200: journalPage, ...authErrors },
        },
      },
      async (req) => journal.read(principalOf(req).tenantId, req.query),
    );
  };
