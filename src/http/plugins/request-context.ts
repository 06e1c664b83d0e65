import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Uses the caller's X-Request-Id when it is well-formed, otherwise makes one. */
export function genRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
}

declare module 'fastify' {
  interface FastifyRequest {
    /** W3C trace id: from `traceparent` when valid, else fresh. */
    traceId: string;
    parentSpanId?: string;
  }
}

/** Echoes the request id, honours W3C `traceparent`, and binds both to the request's log lines. */
export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('traceId', '');
  app.addHook('onRequest', async (request, reply) => {
    const match = traceparentPattern.exec(String(request.headers.traceparent ?? ''));
    if (match && !/^0+$/.test(match[1]!) && !/^0+$/.test(match[2]!)) {
      request.traceId = match[1]!;
      request.parentSpanId = match[2]!;
    } else {
      request.traceId = randomBytes(16).toString('hex');
    }
    request.log = request.log.child({ trace_id: request.traceId });
    reply.header('x-request-id', request.id);
  });
}
