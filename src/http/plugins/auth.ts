import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.ts';
import { hasScope, isRoot, type Principal, type Scope } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import { sessionAuthorization } from '../session-cookie.ts';
import { isLoopbackBind } from './host-guard.ts';

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
    /**
     * An earlier system's route its documents call without credentials (Zahara's runtime `/run`,
     * PAGI's `/plan`): in `dev` auth mode, a request without any from this machine acts as the dev
     * user `anonymous`. Everywhere else it needs credentials like any other route.
     */
    devWithoutCredentials?: boolean;
    /** What the 401 for a request without credentials tells the client to send. */
    credentialHint?: string;
    /**
     * A scope that stands apart (principal.ts) which opens this route too, beside `auth`'s: `pagi`
     * on PAGI's routes, for the key its clients hold (PAGI_API_KEY); `feedback` on posting a score.
     */
    orScope?: Scope;
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
      principal = await authenticator.authenticate({
        header: credentialHeader(request),
        // Asked only when no credentials were sent: parsing the peer's address per request was
        // ~0.5% of the gateway's CPU per call.
        get loopback() {
          return fromThisMachine(request);
        },
      });
    } catch (err) {
      onFailure('invalid');
      throw err;
    }
    if (!principal && config.devWithoutCredentials && fromThisMachine(request))
      principal = await authenticator.anonymousDev();
    if (!principal) {
      if (needed === 'optional') return;
      onFailure('missing');
      throw new AppError(
        'unauthorized',
        `credentials required: send ${config.credentialHint ?? 'Authorization: Bearer <API key or JWT>'}`,
      );
    }
    if (needed === 'optional') {
      // A key that opens only its own routes (metrics, PAGI's) gets the public answer here.
      if (hasScope(principal, 'read')) request.principal = principal;
      return;
    }
    request.principal = principal;
    if (!hasScope(principal, needed) && !(config.orScope && principal.scopes.has(config.orScope))) {
      onFailure('scope');
      throw new AppError('forbidden', scopeRefusal(principal, needed));
    }
    if (config.root && !isRoot(principal)) {
      onFailure('scope');
      throw new AppError('forbidden', 'this operation is reserved to admins of the default tenant');
    }
  });
}

/** Why a principal may not: a key that opens only its own routes says which ones. */
function scopeRefusal(principal: Principal, needed: Scope): string {
  const why = `this operation needs the "${needed}" scope`;
  if (principal.scopes.has('pagi') && !hasScope(principal, 'read'))
    return `${why}: this key (scope "pagi", PAGI_API_KEY) reaches PAGI's routes only (docs/compat.md)`;
  if (principal.scopes.has('feedback') && !hasScope(principal, 'read'))
    return `${why}: this key (scope "feedback") may only post scores on runs (docs/scores.md)`;
  return why;
}

/**
 * A request from a loopback peer that no proxy forwarded and no page of another site sent (browsers
 * mark those with Sec-Fetch-Site; the host guard has refused a foreign Host or Origin already).
 */
function fromThisMachine(request: FastifyRequest): boolean {
  const h = request.headers;
  if (h['x-forwarded-for'] !== undefined || h.forwarded !== undefined) return false;
  const site = h['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  return isLoopbackBind(request.socket.remoteAddress ?? '');
}

/**
 * The request's credentials as the authenticator reads them: its headers, and the console's session
 * cookie in place of an Authorization header when it sends none. Every check of a caller uses it
 * (routes, /health's detail, /metrics), so a signed-in console is the same caller everywhere.
 */
export const credentialHeader =
  (request: FastifyRequest) =>
  (name: string): string | undefined =>
    headerOf(request, name) ?? (name === 'authorization' ? cookieAuth(request) : undefined);

/** The console's session cookie, for a request that sends no credentials in its headers. */
function cookieAuth(request: FastifyRequest): string | undefined {
  if (request.headers['x-api-key'] !== undefined || request.headers['x-internal-service'] !== undefined)
    return undefined;
  return sessionAuthorization(request);
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
