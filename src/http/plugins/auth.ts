import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.ts';
import { hasScope, isRoot, type Principal, type Scope } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../../events/journal.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What a route asks of its caller: a scope (the default is `read`), `public` (no credentials
     * needed), or `optional` (public, but credentials that are sent are checked and used).
     */
    auth?: Scope | 'public' | 'optional';
    /** Only the root tenant's admins and internal services (tenant management). */
    root?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Checks every request against its route's `config.auth` before the handler runs. */
export function registerAuth(
  app: FastifyInstance,
  authenticator: Authenticator,
  onFailure: (reason: string) => void,
) {
  app.decorateRequest('principal', undefined);
  app.addHook('preHandler', async (request) => {
    const config = request.routeOptions.config;
    const needed = config.auth ?? 'read';
    // Unknown routes answer a plain JSON 404, with or without credentials.
    if (needed === 'public' || request.is404) return;
    let principal: Principal | undefined;
    try {
      principal = await authenticator.authenticate({ header: (name) => headerOf(request, name) });
    } catch (err) {
      onFailure('invalid');
      throw err;
    }
    if (!principal) {
      if (needed === 'optional') return;
      onFailure('missing');
      throw new AppError('unauthorized', 'credentials required: send Authorization: Bearer <API key or JWT>');
    }
    request.principal = principal;
    if (needed === 'optional') return;
    if (!hasScope(principal, needed)) {
      onFailure('scope');
      throw new AppError('forbidden', `this operation needs the "${needed}" scope`);
    }
    if (config.root && !isRoot(principal)) {
      onFailure('scope');
      throw new AppError('forbidden', 'this operation is reserved to admins of the default tenant');
    }
  });
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The authenticated principal of a route that requires one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized', 'credentials required');
  return request.principal;
}

/** The journal's view of who made this request. */
export function actorOf(request: FastifyRequest): Actor {
  const p = principalOf(request);
  return { tenantId: p.tenantId, actor: p.subject, requestId: request.id, traceId: request.traceId };
}
