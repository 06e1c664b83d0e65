import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, toError } from '../../errors.ts';
import { modelDoorErrors, openaiErrorResponse, wireObject } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { startSse } from '../../http/sse.ts';
import {
  fromWire,
  toWireCompletion,
  WireChunker,
  type WireRequest,
  wireError,
} from '../../models/openai-wire.ts';
import type { CallTiming, CompletionChunk } from '../../models/types.ts';
import { clientJsonSchema } from '../../text/client-schema.ts';
import { ModelDoor } from '../agent-models.ts';
import { callContext, serverTiming } from './context.ts';
import { openaiErrorHandler } from './errors.ts';

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
    parameters: clientJsonSchema({ compile: false }).optional(),
  }),
});

const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
      description: z.string().optional(),
      schema: clientJsonSchema().optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

/** Room for inline images, audio and files on this route (the parts' own limit is openai-wire.ts'). */
export const MEDIA_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * The OpenAI request, validated where the gateway acts on a field. Every other field (user, seed,
 * logprobs, …) travels on unchanged to OpenAI-type providers; a provider that cannot honour one
 * refuses the call with a 400 naming it (models/request-support.ts), so nothing is dropped.
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
  response_format: responseFormat.nullable().optional(),
});

export const chatCompletionRoutes =
  (services: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // The gateway, or an agent for `model: "agent/<name>"` (agent-models.ts).
    const models = new ModelDoor(services);

    app.post(
      '/v1/chat/completions',
      {
        config: { auth: 'write' },
        schema: {
          tags: ['models'],
          summary: 'Chat completion (OpenAI-compatible, streaming with stream: true)',
          body,
          response: {
            200: wireObject("OpenAI's chat.completion object, or its chunks as Server-Sent Events"),
            ...modelDoorErrors(openaiErrorResponse),
          },
        },
        // This route answers in OpenAI's error shape, which OpenAI clients parse, not the house one.
        errorHandler: openaiErrorHandler,
        // Images, audio and files travel inline (base64): more room than other routes' bodies.
        bodyLimit: Math.max(services.config.server.body_limit, MEDIA_BODY_LIMIT),
      },
      async (req, reply) => {
        const started = performance.now();
        const request = fromWire(req.body as WireRequest);
        const timing: CallTiming = {};
        const ctx = callContext(req, reply, timing);
        const created = Math.floor(Date.now() / 1000);

        if (!req.body.stream) {
          const completion = await models.complete(req, reply, request, ctx);
          reply.header('server-timing', serverTiming(timing, started));
          return reply.send(toWireCompletion(completion, created));
        }

        // Wait for the first chunk before answering: a refusal or an upstream that never answers
        // still gets a proper status code; only after it is the response committed to 200.
        const it = models.stream(req, reply, request, ctx)[Symbol.asyncIterator]();
        const first = await it.next();
        const chunker = new WireChunker(
          `chatcmpl-${randomUUID()}`,
          created,
          timing.model ?? request.model,
          req.body.stream_options?.include_usage === true,
        );
        // A slow client holds the upstream back, so only the socket's buffer is held for it; one
        // that takes nothing for the stream's stall limit is cut off (the upstream call with it),
        // as on every stream. The OpenAI format has no event ids: such a client asks again.
        const out = startSse(req, reply, { 'server-timing': serverTiming(timing, started) });
        const raw = out.raw;
        try {
          let next: IteratorResult<CompletionChunk> = first;
          stream: while (!next.done) {
            for (const payload of chunker.render(next.value)) if (!(await out.data(payload))) break stream;
            next = await it.next();
          }
          if (!raw.destroyed) out.end('data: [DONE]\n\n');
        } catch (err) {
          // Mid-stream failure: an error event (OpenAI clients raise it), never a made-up finish.
          const e = err instanceof AppError ? err : new AppError('bad_gateway', toError(err).message);
          if (e.status >= 500) req.log.warn({ err }, 'model stream failed mid-way');
          if (!raw.destroyed) {
            out.end(
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
