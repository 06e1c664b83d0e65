import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { seedOpsTeam } from '../../agents/packs-ops-team.ts';
import { pageOf, pageQuery } from '../../db/page.ts';
import { actorOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors } from './common.ts';
import { apiKeySchema } from './keys.ts';

const tags = ['tenants'];
const tenantSchema = z.object({ id: z.uuid(), name: z.string(), created_at: z.string() });
const createTenantBody = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "_" and "-", at most 63'),
  })
  .strict();

export const tenantRoutes =
  ({ tenants, keys, agents, config }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/tenants',
      {
        config: { auth: 'admin', root: true },
        schema: {
          tags,
          summary: 'Create a tenant and its first admin key (the secret is shown once)',
          body: createTenantBody,
          response: {
            201: z.object({
              tenant: tenantSchema,
              admin_key: apiKeySchema.extend({ secret: z.string() }),
              /** The operations team's agents made in it (`ops_team.seed`), as in the first tenant. */
              agents: z.array(z.string()),
            }),
            ...authErrors,
          },
        },
      },
      async (req, reply) => {
        const created = await tenants.createWithAdminKey(keys, req.body.name, actorOf(req));
        // Every tenant gets the team the first one got (ZORA's six agents): a ZORA client of a new
        // tenant names LUMINA as one of the first tenant does. Seeding skips names already taken.
        const seeded = config.ops_team.seed ? await seedOpsTeam(agents, created.tenant.id) : [];
        return reply.code(201).send({ ...created, agents: seeded });
      },
    );

    app.get(
      '/v1/tenants',
      {
        config: { auth: 'admin', root: true },
        schema: {
          tags,
          summary: 'List tenants',
          querystring: pageQuery,
          response: { 200: pageOf(tenantSchema), ...authErrors },
        },
      },
      async (req) => tenants.list(req.query),
    );
  };
