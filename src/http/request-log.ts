import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * One JSON line per request, at `info` (so `log_level: warn` turns them off): what an operator
 * greps for when a caller says "my request failed". The URL is logged without its query string
 * (a caller may put a credential there); headers and bodies are never logged here.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  const p = request.principal;
  const line = {
    method: request.method,
    route: request.routeOptions.url ?? null,
    path: pathOf(request.url),
    status,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
    tenant: p?.tenantName ?? null,
    key_id: p?.keyId ?? null,
  };
  // 503 is load shed or a store outage, answered with Retry-After: a warning, not an error.
  if (status >= 500 && status !== 503) request.log.error(line, 'request');
  else if (status === 503) request.log.warn(line, 'request');
  else request.log.info(line, 'request');
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
