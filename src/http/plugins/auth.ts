import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.ts';
import { viewerOf as ownershipViewer, type Viewer } from '../../auth/ownership.ts';
import { hasScope, isRoot, type Principal, type Scope } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../../events/journal.ts';

export type RouteAuth = Scope | 'public' | 'optional';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What a route asks of its caller: a scope (the default is `read`), `public` (no credentials
     * needed), or `optional` (public, but credentials that are sent are checked and used).
     */
    auth?: RouteAuth;
    /** Only the root tenant's admins and internal services (tenant management). */
    root?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** Every registered route with what it asks of its caller, as finally configured. */
    routeAccess(): RouteAccess[];
  }
}

export interface RouteAccess {
  method: string;
  url: string;
  auth: RouteAuth;
  root: boolean;
}

/**
 * Checks every request against its route's `config.auth`. It runs at `onRequest`, before the body
 * is read or validated: a caller without credentials learns nothing about the route's schema, and
 * an unauthenticated client cannot make the server parse a large body.
 */
export function registerAuth(
  app: FastifyInstance,
  authenticator: Authenticator,
  onFailure: (reason: string) => void,
) {
  // Read at call time: routes are registered after this plugin.
  app.decorate('routeAccess', () =>
    app.routeTable.flatMap((r) =>
      [r.method].flat().map((method) => ({
        method: String(method),
        url: r.url,
        auth: r.config?.auth ?? 'read',
        root: r.config?.root === true,
      })),
    ),
  );

  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
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

/** Who looks at the tenant's objects: `private` ones of other users are not found for them. */
export function viewerOf(request: FastifyRequest): Viewer {
  return ownershipViewer(principalOf(request));
}

/** The journal's view of who made this request. */
export function actorOf(request: FastifyRequest): Actor {
  const p = principalOf(request);
  return {
    tenantId: p.tenantId,
    actor: p.subject,
    requestId: request.id,
    traceId: request.traceId,
    spanId: request.parentSpanId,
    traceState: request.traceState,
  };
}
