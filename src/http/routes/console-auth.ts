import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { ROOT_TENANT, scopes } from '../../auth/principal.ts';
import type { SignInLinks } from '../../auth/sign-in-links.ts';
import { AppError } from '../../errors.ts';
import { systemActor } from '../../events/journal.ts';
import { principalOf } from '../plugins/auth.ts';
import { authErrors, errorResponse } from './common.ts';

const tags = ['console'];

const principalSchema = z.object({
  tenant_id: z.string(),
  tenant_name: z.string(),
  subject: z.string(),
  scopes: z.array(z.enum(scopes)),
  via: z.enum(['internal', 'jwt', 'api_key', 'dev']),
  key_id: z.string().optional(),
});

/** Who the caller is, for the console to show and to hide the controls its key cannot use. */
export const consoleAuthRoutes =
  ({ keys, tenants }: Services, links: SignInLinks): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/auth/me',
      {
        schema: {
          tags,
          summary: 'The caller: tenant, subject and scopes of the credentials sent',
          response: { 200: principalSchema, ...authErrors },
        },
      },
      async (req) => {
        const p = principalOf(req);
        return {
          tenant_id: p.tenantId,
          tenant_name: p.tenantName,
          subject: p.subject,
          scopes: [...p.scopes],
          via: p.via,
          ...(p.keyId && { key_id: p.keyId }),
        };
      },
    );

    app.post(
      '/v1/auth/sign-in',
      {
        config: { auth: 'public' },
        schema: {
          tags,
          summary: "Trade the one-time code of the server's printed sign-in link for an admin API key",
          body: z.object({ code: z.string().min(1).max(200) }).strict(),
          response: {
            201: z.object({ api_key: z.string(), tenant: z.string() }),
            400: errorResponse,
            401: errorResponse,
          },
        },
      },
      async (req, reply) => {
        if (!links.redeem(req.body.code)) {
          throw new AppError(
            'unauthorized',
            'this sign-in link was used already or has expired: restart the server for a new one, or sign in with an API key',
          );
        }
        const tenant = await tenants.find(ROOT_TENANT);
        if (!tenant) throw new AppError('unauthorized', `tenant ${ROOT_TENANT} does not exist`);
        const { secret } = await keys.create(
          tenant.id,
          { name: `console sign-in ${new Date().toISOString().slice(0, 16)}`, scopes: ['admin'] },
          systemActor(tenant.id),
        );
        return reply.code(201).send({ api_key: secret, tenant: tenant.name });
      },
    );
  };
