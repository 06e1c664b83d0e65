import type { FastifyRequest } from 'fastify';
import { principalViewer, type Viewer } from '../auth/ownership.ts';
import type { Principal } from '../auth/principal.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../events/journal.ts';
import type { RunCaller } from '../runtime/types.ts';

/**
 * Who a request acts as, in the shapes the services take: its principal (set by the auth plugin),
 * the viewer of a tenant's objects, the journal's actor, and a run's caller. Every front door on
 * the HTTP server (routes, compat, A2A, MCP) reads its caller through these.
 */

/** The authenticated principal of a route that requires one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized', 'credentials required');
  return request.principal;
}

/** Who looks at the tenant's objects: `private` ones of other users are not found for them. */
export function viewerOf(request: FastifyRequest): Viewer {
  return principalViewer(principalOf(request));
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

/** Who asks for a run: the request's identity and trace, passed on to the model gateway. */
export function callerOf(req: FastifyRequest): RunCaller {
  const p = principalOf(req);
  return {
    tenantId: p.tenantId,
    tenantName: p.tenantName,
    keyId: p.keyId,
    requestId: req.id,
    traceId: req.traceId,
    parentSpanId: req.parentSpanId,
    viewer: viewerOf(req),
    traceState: req.traceState,
  };
}
