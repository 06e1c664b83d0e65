import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, toError } from '../errors.ts';
import { wireError } from '../models/openai-wire.ts';

/**
 * The error handler of every OpenAI-compatible route (chat completions, embeddings, models):
 * OpenAI's `{"error": {"message", "type", "param", "code"}}`, which the OpenAI clients parse into
 * their error classes by status, instead of the house format. 429 and 503 always say when to come
 * back (Retry-After); 5xx hide their internals as elsewhere.
 */
export function sendOpenAIError(raw: unknown, request: FastifyRequest, reply: FastifyReply) {
  let status = 500;
  let code = 'internal';
  let message = 'internal error; see the server log for this request id';
  let param: string | null = null;
  if (raw instanceof AppError) {
    ({ status, code, message } = raw);
    param = paramOf(raw.details);
    if (raw.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(raw.retryAfter)));
    if (status >= 500) request.log.error({ err: raw }, raw.message);
  } else if (hasZodFastifySchemaValidationErrors(raw)) {
    status = 400;
    code = 'validation_error';
    const first = raw.validation[0];
    param = first?.instancePath.slice(1).replaceAll('/', '.') || null;
    message = `invalid body: ${raw.validation
      .map((v) => `${v.instancePath.slice(1).replaceAll('/', '.') || '(root)'}: ${v.message}`)
      .join('; ')}`;
  } else {
    const err = raw as FastifyError;
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
      message = err.message;
    } else {
      request.log.error({ err: toError(raw) }, 'unhandled error');
    }
  }
  if ((status === 429 || status === 503) && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ ...wireError(status, code, message, param), request_id: request.id });
}

/** The field at fault, as a `badParam` error names it. */
function paramOf(details: unknown): string | null {
  const param = (details as { param?: unknown } | undefined)?.param;
  return typeof param === 'string' ? param : null;
}
