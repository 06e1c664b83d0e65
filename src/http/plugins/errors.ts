import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isStoreOutage } from '../../db/unavailable.ts';
import { AppError, type ErrorCode, toError } from '../../errors.ts';
import { browserNotFound } from '../console.ts';
import { traceContextOf } from './request-context.ts';

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
  // Set here too: errors raised before the onRequest hooks (a bad URL) must still echo the id.
  return reply
    .code(status)
    .header('x-request-id', reply.request.id)
    .header('x-trace-id', traceContextOf(reply.request.raw).traceId)
    .type('application/json; charset=utf-8')
    .send(body);
}

/** A caller-supplied value quoted in a message: bounded, so an error never echoes a megabyte. */
const quote = (value: unknown) => JSON.stringify(String(value ?? '').slice(0, 100));

/** Fastify's own client errors, mapped into the catalogue with a message that says what to fix. */
function fromFastify(err: FastifyError, request: FastifyRequest): [ErrorCode, string] | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return [
        'payload_too_large',
        `request body is larger than the limit of ${request.server.initialConfig.bodyLimit} bytes`,
      ];
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return [
        'unsupported_media_type',
        `content type ${quote(request.headers['content-type'])} is not accepted here; send application/json`,
      ];
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return ['bad_request', 'the body length does not match Content-Length'];
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ['bad_request', 'the body is empty but Content-Type says application/json'];
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return ['bad_request', 'malformed JSON body'];
    case 'FST_ERR_BAD_URL':
      return ['bad_request', `malformed URL ${quote(request.url)}`];
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return ['bad_request', 'a path parameter is too long'];
    default:
      return undefined;
  }
}

/**
 * The log line of an error answered with a 5xx, for every error handler (the house's and each
 * vendor door's). A 503 is the server shedding load, busy or shutting down, as designed, with
 * Retry-After: a warning without a stack (a burst of them would bury real errors); any other 5xx
 * is an error with its stack.
 */
export function logAnswered(request: FastifyRequest, err: AppError): void {
  if (err.status === 503) request.log.warn({ code: err.code, retry_after: err.retryAfter }, err.message);
  else if (err.status >= 500) request.log.error({ err }, err.message);
}

export interface ErrorHandlingOptions {
  /** Seconds a client is told to wait (Retry-After) when the store cannot be reached. */
  storeRetryAfterSeconds: number;
  /** Called for each request answered 503 `store_unavailable` (a metric). */
  onStoreUnavailable?: () => void;
}

const defaults: ErrorHandlingOptions = { storeRetryAfterSeconds: 5 };

function handleError(
  this: ErrorHandlingOptions,
  raw: FastifyError | AppError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  // An outage of the store is not a bug here: the client may retry, and the answer says when.
  if (!(raw instanceof AppError && raw.status < 500) && isStoreOutage(raw)) {
    this.onStoreUnavailable?.();
    request.log.warn({ err: toError(raw) }, 'store unavailable');
    reply.header('retry-after', String(this.storeRetryAfterSeconds));
    return sendError(reply, 503, 'store_unavailable', 'the store is unavailable; retry later');
  }
  if (raw instanceof AppError) {
    if (raw.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(raw.retryAfter)));
    logAnswered(request, raw);
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
  const mapped = fromFastify(err, request);
  if (mapped) {
    const [code, message] = mapped;
    return sendError(reply, err.statusCode && err.statusCode < 500 ? err.statusCode : 400, code, message);
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return sendError(reply, err.statusCode, 'bad_request', err.message);
  }
  request.log.error({ err: toError(raw) }, 'unhandled error');
  return sendError(reply, 500, 'internal', 'internal error; see the server log for this request id');
}

/**
 * The one place errors become responses. Client mistakes keep their message; anything unexpected
 * is logged with its stack and answered as a 500 that reveals nothing inside.
 */
export function registerErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = defaults): void {
  app.setErrorHandler(handleError.bind(options));
  app.setNotFoundHandler(
    (request, reply) =>
      browserNotFound(request, reply) ??
      sendError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

/**
 * Fastify's `frameworkErrors` option: errors met while routing (a malformed URL, an overlong path
 * parameter) before any hook runs. They go through the same handler, hence the same format.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  return handleError.call(defaults, err, request, reply);
}

const clientErrors: Record<string, [number, ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'request headers are larger than the server accepts'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request was not received in time'],
};

/**
 * Fastify's `clientErrorHandler` option: errors Node's HTTP parser raises before a request exists
 * (oversized headers, garbage on the wire). Answered in the error format with a fresh request id,
 * then the connection is closed, as Node itself does.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = clientErrors[err.code ?? ''] ?? [
    400,
    'bad_request',
    'malformed HTTP request',
  ];
  const id = randomUUID();
  this.log.debug({ err, request_id: id }, 'client error');
  const body = JSON.stringify({ error: { code, message }, request_id: id } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${id}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
