import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, isNotFound, toError } from '../../errors.ts';
import { principalOf, viewerOf } from '../../http/caller.ts';
import { clientGone } from '../../http/client-gone.ts';
import { modelDoorErrors, openaiErrorResponse, wireObject } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { startSse } from '../../http/sse.ts';
import type { StoredResponse } from '../../models/stored-responses.ts';
import type { CallContext, CompletionChunk } from '../../models/types.ts';
import { isAgentModel, ModelDoor } from '../agent-models.ts';
import { openaiErrorHandler } from './errors.ts';
import {
  assistantMessage,
  completedResponse,
  newResponseHead,
  ResponseEvents,
  type ResponseObject,
} from './responses-output.ts';
import { type ResponsesBody, responsesBody, translate } from './responses-request.ts';

const idParams = z.object({ id: z.string().min(1).max(200) }).strict();
const itemsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    order: z.enum(['asc', 'desc']).default('desc'),
    after: z.string().min(1).max(200).optional(),
    include: z.union([z.string(), z.array(z.string())]).optional(),
  })
  .strict();

const tags = ['models'];

/**
 * OpenAI's Responses API on the model gateway: create (whole, or streamed as the Responses event
 * types), retrieve, delete and list input items; `previous_response_id` continues a stored
 * conversation of the same tenant. Each model call goes through the gateway exactly as a chat
 * completion does (policy, budgets, rate limits, breakers, fallbacks, usage, spans), or runs an
 * agent for `model: "agent/<name>"`.
 */
export const responseRoutes =
  (services: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const door = new ModelDoor(services);
    const stored = services.storedResponses;

    app.post(
      '/v1/responses',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Create a model response (OpenAI's Responses API; streaming with stream: true)",
          body: responsesBody,
          response: {
            200: wireObject("OpenAI's Response object, or its events as Server-Sent Events"),
            ...modelDoorErrors(openaiErrorResponse),
          },
        },
        errorHandler: openaiErrorHandler,
      },
      async (req, reply) => {
        const tenantId = principalOf(req).tenantId;
        const viewer = viewerOf(req);
        const body = req.body as ResponsesBody;
        const previous = body.previous_response_id
          ? await stored.get(tenantId, body.previous_response_id, viewer).catch((err) => {
              throw isNotFound(err)
                ? new AppError('not_found', err.message, { details: { param: 'previous_response_id' } })
                : err;
            })
          : undefined;
        // An agent's follow-up continues its session, which holds the conversation already.
        const sessionId = isAgentModel(body.model) ? (previous?.sessionId ?? undefined) : undefined;
        const { request, items, conversation } = translate(body, sessionId ? [] : (previous?.messages ?? []));
        const head = newResponseHead(body);
        const ctx = callContext(req, reply);
        let run: { sessionId: string; agentId: string } | undefined;
        const options = {
          ...(sessionId && { sessionId }),
          onRun: (ids: { sessionId: string; agentId: string }) => {
            run = ids;
          },
        };
        const keep = async (response: ResponseObject) => {
          if (body.store === false) return;
          const record: Omit<StoredResponse, 'visibility'> & { inputItems: typeof items } = {
            id: head.id,
            body: response,
            messages: [...conversation, assistantMessage(response.output)],
            sessionId: run?.sessionId ?? null,
            inputItems: items,
          };
          await stored.save(tenantId, record, {
            owner: viewer.userId,
            agentId: run?.agentId,
            private: previous?.visibility === 'private',
          });
        };

        if (!body.stream) {
          const completion = await door.complete(req, reply, request, ctx, options);
          const response = completedResponse(head, completion);
          await keep(response);
          return reply.send(response);
        }

        // The first chunk comes before the answer is committed to 200: a refusal is a status code.
        const it = door.stream(req, reply, request, ctx, options)[Symbol.asyncIterator]();
        let next: IteratorResult<CompletionChunk> = await it.next();
        const events = new ResponseEvents(head);
        const out = startSse(req, reply);
        const raw = out.raw;
        try {
          for (const frame of events.start()) out.write(frame);
          stream: while (!next.done) {
            const frames = events.render(next.value);
            // Kept before the client hears it is complete, so a follow-up can chain on it at once.
            if (next.value.type === 'finish' && events.completed) await keep(events.completed);
            for (const frame of frames) if (!(await out.send(frame))) break stream;
            next = await it.next();
          }
          out.end();
        } catch (err) {
          // Mid-stream failure: an `error` event (OpenAI clients raise it), never a made-up finish.
          const e = err instanceof AppError ? err : new AppError('bad_gateway', toError(err).message);
          if (e.status >= 500) req.log.warn({ err }, 'response stream failed mid-way');
          if (!raw.destroyed) out.end(events.error(e.code, e.message));
        } finally {
          if (raw.destroyed) await it.return?.();
        }
        return reply;
      },
    );

    app.get(
      '/v1/responses/:id',
      {
        config: { auth: 'read' },
        schema: {
          tags,
          summary: 'A stored response',
          params: idParams,
          response: { 200: wireObject("OpenAI's Response object"), ...modelDoorErrors(openaiErrorResponse) },
        },
        errorHandler: openaiErrorHandler,
      },
      async (req) => (await stored.get(principalOf(req).tenantId, req.params.id, viewerOf(req))).body,
    );

    app.delete(
      '/v1/responses/:id',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: 'Delete a stored response',
          params: idParams,
          response: {
            200: z.object({ id: z.string(), object: z.literal('response'), deleted: z.literal(true) }),
            ...modelDoorErrors(openaiErrorResponse),
          },
        },
        errorHandler: openaiErrorHandler,
      },
      async (req) => {
        await stored.delete(principalOf(req).tenantId, req.params.id, viewerOf(req));
        return { id: req.params.id, object: 'response' as const, deleted: true as const };
      },
    );

    app.get(
      '/v1/responses/:id/input_items',
      {
        config: { auth: 'read' },
        schema: {
          tags,
          summary: "A stored response's input items",
          params: idParams,
          querystring: itemsQuery,
          response: { 200: wireObject('A list of input items'), ...modelDoorErrors(openaiErrorResponse) },
        },
        errorHandler: openaiErrorHandler,
      },
      async (req) => ({
        object: 'list' as const,
        ...(await stored.inputItems(principalOf(req).tenantId, req.params.id, req.query, viewerOf(req))),
      }),
    );
  };

/** Who calls and the call's signal, as the chat completions route makes them. */
export function callContext(req: FastifyRequest, reply: FastifyReply): CallContext {
  const p = principalOf(req);
  return {
    tenantId: p.tenantId,
    tenantName: p.tenantName,
    keyId: p.keyId,
    agentName: agentHeader(req),
    requestId: req.id,
    traceId: req.traceId,
    parentSpanId: req.parentSpanId,
    traceState: req.traceState,
    // The client going away aborts the upstream call too.
    signal: clientGone(reply.raw),
    timing: {},
  };
}

/** `X-Agentry-Agent`: the agent a call is billed to (its own budget applies), as on chat completions. */
function agentHeader(req: FastifyRequest): string | undefined {
  const v = req.headers['x-agentry-agent'];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[A-Za-z0-9._-]{1,100}$/.test(s) ? s : undefined;
}
