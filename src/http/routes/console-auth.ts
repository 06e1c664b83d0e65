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
import { clearSessionCookie, setSessionCookie } from '../session-cookie.ts';
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
  api_key_id: z.uuid().nullable(),
});

const signInBody = z.union([
  z.object({ code: z.string().min(1).max(200) }).strict(),
  z.object({ api_key: z.string().min(1).max(500) }).strict(),
]);

/** Who the caller is, for the console to show and to hide the controls its key cannot use. */
export const consoleAuthRoutes =
  ({ consoleSessions, tenants, authenticator }: Services, links: SignInLinks): FastifyPluginAsync =>
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
            "Open a console session: with the one-time code of the server's printed sign-in link (the root tenant's admin) or with an API key (as that key). The session is an HttpOnly cookie, never in the answer",
          operationId: 'signIn',
          body: signInBody,
          response: {
            201: z.object({ session_id: z.uuid(), expires_at: z.string(), tenant: z.string() }),
            400: errorResponse,
            401: errorResponse,
          },
        },
      },
      async (req, reply) => {
        const userAgent = req.headers['user-agent'];
        let opened: Awaited<ReturnType<typeof consoleSessions.create>>;
        let tenantName: string;
        if ('code' in req.body) {
          if (!links.redeem(req.body.code)) {
            throw new AppError(
              'unauthorized',
              'this sign-in link was used already or has expired: run `agentry console` for a new one, or sign in with an API key',
            );
          }
          const tenant = await tenants.find(ROOT_TENANT);
          if (!tenant) throw new AppError('unauthorized', `tenant ${ROOT_TENANT} does not exist`);
          tenantName = tenant.name;
          opened = await consoleSessions.create(
            tenant.id,
            { scopes: ['admin'], userAgent },
            systemActor(tenant.id),
          );
        } else {
          const key = req.body.api_key;
          if (!key.startsWith('agk_')) throw new AppError('unauthorized', 'paste an API key (agk_…)');
          const p = await authenticator.authenticate({
            header: (name) => (name === 'authorization' ? `Bearer ${key}` : undefined),
            loopback: false,
          });
          if (!p?.keyId) throw new AppError('unauthorized', 'paste an API key (agk_…)');
          tenantName = p.tenantName;
          opened = await consoleSessions.create(
            p.tenantId,
            { scopes: [...p.scopes], userAgent, apiKeyId: p.keyId },
            { tenantId: p.tenantId, actor: `key:${p.keyId}`, requestId: req.id },
          );
        }
        const { session, token } = opened;
        setSessionCookie(req, reply, token, session.expires_at);
        return reply
          .code(201)
          .send({ session_id: session.id, expires_at: session.expires_at, tenant: tenantName });
      },
    );

    app.post(
      '/v1/auth/sign-in-links',
      {
        config: { auth: 'admin', root: true },
        schema: {
          tags,
          summary:
            'A new one-time sign-in link for the console (what `agentry serve` prints at start, and `agentry console` asks for)',
          operationId: 'createSignInLink',
          response: { 201: z.object({ path: z.string(), expires_at: z.string() }), ...authErrors },
        },
      },
      async (_req, reply) => {
        const { code, expiresAt } = links.issueWithExpiry();
        return reply
          .code(201)
          .send({ path: `/#sign-in=${code}`, expires_at: new Date(expiresAt).toISOString() });
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
        clearSessionCookie(req, reply);
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
