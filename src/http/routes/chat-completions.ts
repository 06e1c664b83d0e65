import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../app.ts';
import { AppError, toError } from '../../errors.ts';
import {
  fromWire,
  toWireCompletion,
  WireChunker,
  type WireRequest,
  wireError,
} from '../../models/openai-wire.ts';
import type { CallContext, CallTiming, CompletionChunk } from '../../models/types.ts';
import { clientGone } from '../client-gone.ts';
import { drained } from '../drained.ts';
import { principalOf } from '../plugins/auth.ts';
import { startSse } from '../sse.ts';

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z
    .union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
    .nullable()
    .optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional(),
});
const tool = z.object({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

/**
 * The OpenAI request, validated where the gateway acts on a field; other OpenAI fields (user, seed,
 * logprobs, …) are accepted and ignored, so the official clients work unchanged.
 */
const body = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(message).min(1),
  tools: z.array(tool).optional(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
    ])
    .optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  n: z.number().int().positive().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
});

/** Per-call overrides a client may send: the agent to bill (per-agent budgets) and a total timeout. */
const AGENT_HEADER = 'x-agentry-agent';
const TIMEOUT_HEADER = 'x-agentry-timeout-ms';

export const chatCompletionRoutes =
  ({ models }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/v1/chat/completions',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['models'],
          summary: 'Chat completion (OpenAI-compatible, streaming with stream: true)',
          body,
        },
        // This route answers in OpenAI's error shape, which OpenAI clients parse, not the house one.
        errorHandler: (err, request, reply) => sendWireError(err, request, reply),
      },
      async (req, reply) => {
        const started = performance.now();
        const principal = principalOf(req);
        const request = fromWire(req.body as WireRequest);
        const timing: CallTiming = {};
        const ctx: CallContext = {
          tenantId: principal.tenantId,
          tenantName: principal.tenantName,
          keyId: principal.keyId,
          agentName: header(req, AGENT_HEADER),
          requestId: req.id,
          traceId: req.traceId,
          parentSpanId: req.parentSpanId,
          traceState: req.traceState,
          // The client going away aborts the upstream call too.
          signal: clientGone(reply.raw),
          timing,
          ...timeoutOverride(req),
        };
        const created = Math.floor(Date.now() / 1000);

        if (!req.body.stream) {
          const completion = await models.complete(request, ctx);
          reply.header('server-timing', serverTiming(timing, started));
          return reply.send(toWireCompletion(completion, created));
        }

        // Wait for the first chunk before answering: a refusal or an upstream that never answers
        // still gets a proper status code; only after it is the response committed to 200.
        const it = models.stream(request, ctx)[Symbol.asyncIterator]();
        const first = await it.next();
        const chunker = new WireChunker(
          `chatcmpl-${randomUUID()}`,
          created,
          timing.model ?? request.model,
          req.body.stream_options?.include_usage === true,
        );
        // Not resumable (the OpenAI format has no event ids): a slow client holds the upstream back
        // rather than being cut off, so only the socket's buffer is held for it.
        const out = startSse(req, reply, { 'server-timing': serverTiming(timing, started) });
        const raw = out.raw;
        try {
          let next: IteratorResult<CompletionChunk> = first;
          while (!next.done) {
            for (const payload of chunker.render(next.value)) if (!out.data(payload)) await drained(raw);
            if (raw.destroyed) break;
            next = await it.next();
          }
          if (!raw.destroyed) raw.end('data: [DONE]\n\n');
        } catch (err) {
          // Mid-stream failure: an error event (OpenAI clients raise it), never a made-up finish.
          const e = err instanceof AppError ? err : new AppError('bad_gateway', toError(err).message);
          if (e.status >= 500) req.log.warn({ err }, 'model stream failed mid-way');
          if (!raw.destroyed) {
            raw.end(
              `data: ${JSON.stringify({ ...wireError(e.status, e.code, e.message), request_id: req.id })}\n\n`,
            );
          }
        } finally {
          if (raw.destroyed) await it.return?.();
        }
        return reply;
      },
    );
  };

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[A-Za-z0-9._-]{1,100}$/.test(s) ? s : undefined;
}

function timeoutOverride(req: FastifyRequest): Pick<CallContext, 'timeouts'> {
  const v = header(req, TIMEOUT_HEADER);
  if (v === undefined) return {};
  const ms = Number(v);
  if (!Number.isInteger(ms) || ms <= 0 || ms > 3_600_000) {
    throw new AppError('bad_request', `${TIMEOUT_HEADER} must be an integer number of ms in 1..3600000`);
  }
  return { timeouts: { total_ms: ms, first_byte_ms: ms } };
}

/** `Server-Timing`: the gateway's own overhead, apart from the upstream's time. */
function serverTiming(t: CallTiming, started: number): string {
  const total = performance.now() - started;
  const upstream = t.upstream_ms ?? 0;
  const gateway = t.first_chunk_ms !== undefined ? (t.gateway_ms ?? 0) : total - upstream;
  return `gateway;dur=${gateway.toFixed(3)}, upstream;dur=${upstream.toFixed(3)}`;
}

function sendWireError(raw: unknown, request: FastifyRequest, reply: FastifyReply) {
  let status = 500;
  let code = 'internal';
  let message = 'internal error; see the server log for this request id';
  let param: string | null = null;
  if (raw instanceof AppError) {
    ({ status, code, message } = raw);
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
      code = 'bad_request';
      message = err.message;
    } else {
      request.log.error({ err: toError(raw) }, 'unhandled error');
    }
  }
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ ...wireError(status, code, message, param), request_id: request.id });
}
