import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isRoot, ROOT_TENANT, scopes } from '../../auth/principal.ts';
import { pageFields, pageOf } from '../../db/page.ts';
import { AppError, notFound } from '../../errors.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, idParams } from './common.ts';

const tags = ['api keys'];

export const apiKeySchema = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(scopes)),
  /** The user the key acts for: it owns what the key creates; null when the key is its own user. */
  owner: z.string().nullable(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});

const createKeyBody = z
  .object({
    /** Optional for API clients (scripts, the CLI); when given, it is a name, not blank. */
    name: z.string().trim().min(1, 'a key name, not blank').max(200).optional(),
    scopes: z.array(z.enum(scopes)).min(1),
    /**
     * The user the key acts for (`user:<sub>`, `dev:<name>`, any id of the tenant's users): it owns
     * the objects made with the key. Default: the user creating the key, or none for a key.
     */
    owner: z
      .string()
      .regex(/^[\w.@:-]{1,200}$/)
      .optional(),
    /** Another tenant's id or name: only for admins of the default tenant. */
    tenant: z.string().min(1).max(200).optional(),
  })
  .strict();

const tenantQuery = z.object({ tenant: z.string().min(1).max(200).optional() }).strict();

export const keyRoutes =
  ({ keys, tenants }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    /** The tenant a key call is about: the caller's own, or — for root admins — the one named. */
    const targetTenant = async (req: FastifyRequest, named: string | undefined) => {
      const principal = principalOf(req);
      if (named === undefined || named === principal.tenantId || named === principal.tenantName) {
        return principal.tenantId;
      }
      const tenant = isRoot(principal) ? await tenants.find(named) : undefined;
      if (!tenant) throw notFound('tenant', named);
      return tenant.id;
    };

    app.post(
      '/v1/keys',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Create an API key (the secret is shown once)',
          body: createKeyBody,
          response: { 201: apiKeySchema.extend({ secret: z.string() }), ...authErrors },
        },
      },
      async (req, reply) => {
        const tenantId = await targetTenant(req, req.body.tenant);
        if (req.body.scopes.includes('metrics') && (await tenants.find(tenantId))?.name !== ROOT_TENANT) {
          // /metrics covers every tenant: a scrape key belongs to the operators' (default) tenant.
          throw new AppError('bad_request', 'the metrics scope is only for keys of the default tenant', {
            details: [{ path: 'scopes', message: 'metrics: default tenant only' }],
          });
        }
        const p = principalOf(req);
        // A user's key acts for that user; a key made by a key acts for no user unless told.
        const owner = req.body.owner ?? (p.via === 'jwt' || p.via === 'dev' ? p.userId : undefined);
        const { key, secret } = await keys.create(tenantId, { ...req.body, owner }, actorOf(req));
        return reply.code(201).send({ ...key, secret });
      },
    );

    app.get(
      '/v1/keys',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'List API keys',
          querystring: tenantQuery.extend(pageFields),
          response: { 200: pageOf(apiKeySchema), ...authErrors },
        },
      },
      async (req) => {
        const { tenant, ...page } = req.query;
        return keys.list(await targetTenant(req, tenant), page);
      },
    );

    app.post(
      '/v1/keys/:id/revoke',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Revoke an API key',
          params: idParams,
          querystring: tenantQuery,
          response: { 200: apiKeySchema, ...authErrors },
        },
      },
      async (req) => keys.revoke(await targetTenant(req, req.query.tenant), req.params.id, actorOf(req)),
    );
  };
