import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, toError } from '../../errors.ts';
import { anthropicErrorResponse, modelDoorErrors, wireObject } from '../../http/routes/common.ts';
import type { Services } from '../../http/services.ts';
import { startSse } from '../../http/sse.ts';
import { estimatePromptTokens } from '../../models/tokens.ts';
import type { CompletionChunk } from '../../models/types.ts';
import { isAgentModel, ModelDoor } from '../agent-models.ts';
import { callContext } from '../openai/responses.ts';
import { anthropicErrorHandler, errorType } from './errors.ts';
import { frame, MessageEvents, messageId, messageOf } from './messages-output.ts';
import { countTokensBody, type MessagesBody, messagesBody, translate } from './messages-request.ts';

const errorHandler = anthropicErrorHandler;

const tags = ['models'];

/**
 * Anthropic's Messages API on the model gateway, so Anthropic clients (and tools built on them)
 * reach any configured provider, the mock included, with the tenant's policy, budgets, rate limits,
 * breakers, usage and spans, exactly as a chat completion does; `agent/<name>` runs an agent.
 */
export const messageRoutes =
  (services: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const door = new ModelDoor(services);

    app.post(
      '/v1/messages',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary: "Create a message (Anthropic's Messages API; streaming with stream: true)",
          body: messagesBody,
          response: {
            200: wireObject("Anthropic's Message object, or its events as Server-Sent Events"),
            ...modelDoorErrors(anthropicErrorResponse),
          },
        },
        errorHandler,
      },
      async (req, reply) => {
        const body = req.body as MessagesBody;
        const request = translate(body);
        const ctx = callContext(req, reply);
        const id = messageId();
        if (!body.stream) {
          const completion = await door.complete(req, reply, request, ctx);
          return reply.send(messageOf(id, { ...completion, model: completion.model || body.model }));
        }
        // The first chunk comes before the answer is committed to 200: a refusal is a status code.
        const it = door.stream(req, reply, request, ctx)[Symbol.asyncIterator]();
        let next: IteratorResult<CompletionChunk> = await it.next();
        const events = new MessageEvents(id, ctx.timing?.model ?? body.model);
        const out = startSse(req, reply);
        const raw = out.raw;
        try {
          out.write(events.start(estimatePromptTokens(request.messages, request.tools)));
          stream: while (!next.done) {
            for (const f of events.render(next.value)) if (!(await out.send(f))) break stream;
            next = await it.next();
          }
          out.end();
        } catch (err) {
          // Mid-stream failure: Anthropic's `error` event, which its clients raise.
          const e = err instanceof AppError ? err : new AppError('bad_gateway', toError(err).message);
          if (e.status >= 500) req.log.warn({ err }, 'message stream failed mid-way');
          if (!raw.destroyed) {
            out.end(frame('error', { error: { type: errorType(e.status), message: e.message } }));
          }
        } finally {
          if (raw.destroyed) await it.return?.();
        }
        return reply;
      },
    );

    app.post(
      '/v1/messages/count_tokens',
      {
        config: { auth: 'read' },
        schema: {
          tags,
          summary: "Count a message's input tokens (the gateway's estimate, as its budgets reserve)",
          body: countTokensBody,
          response: {
            200: z.object({ input_tokens: z.number().int() }),
            ...modelDoorErrors(anthropicErrorResponse),
          },
        },
        errorHandler,
      },
      async (req) => {
        const request = translate(req.body);
        if (!isAgentModel(request.model)) services.models.catalog.resolve(request.model);
        return { input_tokens: estimatePromptTokens(request.messages, request.tools) };
      },
    );
  };
