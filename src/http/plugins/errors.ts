import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, toError } from '../../errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  request_id: string;
}

export function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  details?: unknown,
) {
  const body: ErrorBody = {
    error: { code, message, ...(details === undefined ? {} : { details }) },
    request_id: reply.request.id,
  };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Fastify's own client-error codes, mapped into the catalogue. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'validation_error',
};

/**
 * The one place errors become responses. Client mistakes keep their message; anything unexpected
 * is logged with its stack and answered as a 500 that reveals nothing inside.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(
    (raw: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply) => {
      if (raw instanceof AppError) {
        if (raw.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(raw.retryAfter)));
        if (raw.status >= 500) request.log.error({ err: raw }, raw.message);
        return sendError(reply, raw.status, raw.code, raw.message, raw.details);
      }
      if (hasZodFastifySchemaValidationErrors(raw)) {
        const where = (raw as FastifyError).validationContext ?? 'body';
        const details = raw.validation.map((v) => ({
          in: where,
          path: v.instancePath.slice(1).replaceAll('/', '.'),
          message: v.message,
          // zod names the offending keys of an unrecognized_keys issue here
          ...(Array.isArray(v.params.keys) && { keys: v.params.keys }),
        }));
        const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
        return sendError(reply, 400, 'validation_error', `invalid ${where}: ${summary}`, details);
      }
      const err = raw as FastifyError;
      const mapped = err.code ? fastifyCodes[err.code] : undefined;
      if (mapped) return sendError(reply, err.statusCode ?? 400, mapped, err.message);
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return sendError(reply, err.statusCode, 'bad_request', err.message);
      }
      request.log.error({ err: toError(raw) }, 'unhandled error');
      return sendError(reply, 500, 'internal', 'internal error; see the server log for this request id');
    },
  );

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
