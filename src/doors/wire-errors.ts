import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, toError } from '../errors.ts';
import { logAnswered } from '../http/plugins/errors.ts';

/**
 * A front door's own error body. Doors that speak a vendor's wire (OpenAI's, Anthropic's) answer
 * errors in that vendor's shape, which its clients parse into their error classes; status codes,
 * codes, Retry-After and the hiding of 5xx internals are the house's, decided here once for every
 * door (each door's `errors.ts` only renders the body).
 */
export type ErrorBody = (e: WireError) => unknown;

export interface WireError {
  status: number;
  code: string;
  message: string;
  param: string | null;
}

export function wireErrorHandler(render: ErrorBody) {
  return (raw: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = describe(raw, request, reply);
    // 429 and 503 always say when to come back, whoever raised them.
    if ((e.status === 429 || e.status === 503) && !reply.hasHeader('retry-after'))
      reply.header('retry-after', '1');
    return reply
      .code(e.status)
      .type('application/json; charset=utf-8')
      .send({ ...(render(e) as object), request_id: request.id });
  };
}

/** The code of a client error the framework raised (body parsing, limits), by its status. */
const frameworkCodes: Record<number, string> = { 413: 'payload_too_large', 415: 'unsupported_media_type' };

/** Status, code, message and the offending parameter of anything thrown on a route. */
export function describe(raw: unknown, request: FastifyRequest, reply?: FastifyReply): WireError {
  let status = 500;
  let code = 'internal';
  let message = 'internal error; see the server log for this request id';
  let param: string | null = null;
  if (raw instanceof AppError) {
    ({ status, code, message } = raw);
    const details = raw.details as { param?: unknown } | undefined;
    if (typeof details?.param === 'string') param = details.param;
    if (raw.retryAfter !== undefined) reply?.header('retry-after', String(Math.ceil(raw.retryAfter)));
    logAnswered(request, raw);
  } else if (hasZodFastifySchemaValidationErrors(raw)) {
    status = 400;
    code = 'validation_error';
    const path = (p: string) => p.slice(1).replaceAll('/', '.');
    param = path(raw.validation[0]?.instancePath ?? '') || null;
    message = `invalid body: ${raw.validation.map((v) => `${path(v.instancePath) || '(root)'}: ${v.message}`).join('; ')}`;
  } else {
    const err = raw as FastifyError;
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = frameworkCodes[status] ?? 'bad_request';
      message = err.message;
    } else {
      request.log.error({ err: toError(raw) }, 'unhandled error');
    }
  }
  return { status, code, message, param };
}
