import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROOT_TENANT, scopes } from '../../auth/principal.ts';
import type { SignInLinks } from '../../auth/sign-in-links.ts';
import { pageOf, pageQuery } from '../../db/page.ts';
import { AppError } from '../../errors.ts';
import { systemActor } from '../../events/journal.ts';
import { actorOf, principalOf } from '../caller.ts';
import type { Services } from '../services.ts';
import { authErrors, errorResponse, idParams } from './common.ts';

const tags = ['console'];

const principalSchema = z.object({
  tenant_id: z.string(),
  tenant_name: z.string(),
  subject: z.string(),
  scopes: z.array(z.enum(scopes)),
  via: z.enum(['internal', 'jwt', 'api_key', 'console_session', 'dev']),
  key_id: z.string().optional(),
  session_id: z.string().optional(),
});

const sessionSchema = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  prefix: z.string(),
  scopes: z.array(z.enum(scopes)),
  user_agent: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
  revoked_at: z.string().nullable(),
});

/** Who the caller is, for the console to show and to hide the controls its key cannot use. */
export const consoleAuthRoutes =
  ({ consoleSessions, tenants }: Services, links: SignInLinks): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get(
      '/v1/auth/me',
      {
        schema: {
          tags,
          summary: 'The caller: tenant, subject and scopes of the credentials sent',
          operationId: 'getCaller',
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
          ...(p.sessionId && { session_id: p.sessionId }),
        };
      },
    );

    app.post(
      '/v1/auth/sign-in',
      {
        config: { auth: 'public' },
        schema: {
          tags,
          summary:
            "Trade the one-time code of the server's printed sign-in link for a console session (the root tenant's admin, until it expires or signs out)",
          operationId: 'signIn',
          body: z.object({ code: z.string().min(1).max(200) }).strict(),
          response: {
            201: z.object({
              token: z.string(),
              session_id: z.uuid(),
              expires_at: z.string(),
              tenant: z.string(),
            }),
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
        const { session, token } = await consoleSessions.create(
          tenant.id,
          { scopes: ['admin'], userAgent: req.headers['user-agent'] },
          systemActor(tenant.id),
        );
        return reply
          .code(201)
          .send({ token, session_id: session.id, expires_at: session.expires_at, tenant: tenant.name });
      },
    );

    app.post(
      '/v1/auth/sign-out',
      {
        schema: {
          tags,
          summary: "End the caller's console session (nothing to end for other credentials)",
          response: { 204: z.null(), ...authErrors },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        if (p.sessionId) await consoleSessions.revoke(p.tenantId, p.sessionId, actorOf(req));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/console-sessions',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "The tenant's console sessions, newest first, ended ones too",
          querystring: pageQuery,
          response: { 200: pageOf(sessionSchema), ...authErrors },
        },
      },
      async (req) => consoleSessions.list(principalOf(req).tenantId, req.query),
    );

    app.post(
      '/v1/console-sessions/:id/revoke',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'End a console session: the browser holding it is signed out at its next request',
          params: idParams,
          response: { 200: sessionSchema, ...authErrors },
        },
      },
      async (req) => consoleSessions.revoke(principalOf(req).tenantId, req.params.id, actorOf(req)),
    );
  };
