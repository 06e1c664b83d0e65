import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Services } from '../../app.ts';
import { AppError } from '../../errors.ts';
import type { RunResult } from '../../runtime/execute.ts';
import type { RunCaller, RunHandle, Runtime } from '../../runtime/runtime.ts';
import { agentChatBody, type ChatInput, chatBody, chatResponse } from '../../runtime/schema.ts';
import { principalOf, viewerOf } from '../plugins/auth.ts';
import { eventFrame, openSse } from '../sse.ts';
import { agentParams, authErrors, errorResponse } from './common.ts';

const tags = ['chat'];
const responses = {
  200: chatResponse,
  ...authErrors,
  409: errorResponse,
  422: errorResponse,
  501: errorResponse,
};

export function callerOf(req: FastifyRequest): RunCaller {
  const p = principalOf(req);
  return {
    tenantId: p.tenantId,
    tenantName: p.tenantName,
    keyId: p.keyId,
    requestId: req.id,
    traceId: req.traceId,
    parentSpanId: req.parentSpanId,
    viewer: viewerOf(req),
    traceState: req.traceState,
  };
}

/**
 * Chat with an agent: one message in, the agent loop's events out as Server-Sent Events (default)
 * or one JSON answer (`stream: false`). Everything that can be refused (unknown agent or session, a
 * busy session under `reject`, bad input) is refused before the stream opens and before anything is
 * written.
 */
export const chatRoutes =
  ({ runtime, agents }: Services): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    const chat = async (req: FastifyRequest, reply: FastifyReply, agentRef: string, body: ChatInput) => {
      const agentId = await agents.idOf(principalOf(req).tenantId, agentRef, viewerOf(req));
      return replyWithRun(runtime, req, reply, await runtime.run(callerOf(req), agentId, body), body);
    };

    app.post(
      '/v1/agents/:id/chat',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Send a message to an agent: SSE (session_start, system, text, tool_call, tool_result, result, session_end) or JSON',
          params: agentParams,
          body: agentChatBody,
          produces: ['text/event-stream', 'application/json'],
          response: responses,
        },
      },
      async (req, reply) => chat(req, reply, req.params.id, req.body),
    );

    app.post(
      '/v1/chat',
      {
        config: { auth: 'write' },
        schema: {
          tags,
          summary:
            'Send a message to the agent named by agent_config_id (same answers as /v1/agents/:id/chat)',
          body: chatBody,
          produces: ['text/event-stream', 'application/json'],
          response: responses,
        },
      },
      async (req, reply) => {
        const { agent_config_id, ...body } = req.body;
        return chat(req, reply, agent_config_id, body);
      },
    );
  };

/**
 * Answers a started run: its events as Server-Sent Events until `session_end` and `[DONE]`, or (with
 * `stream: false`) one JSON answer when it ends. Chat and multi-agent runs answer alike.
 */
export async function replyWithRun(
  runtime: Runtime,
  req: FastifyRequest,
  reply: FastifyReply,
  handle: RunHandle,
  body: Pick<ChatInput, 'stream' | 'on_disconnect'>,
) {
  const cancelOnDisconnect = () => {
    runtime
      .cancel(callerOf(req).tenantId, handle.runId, 'the client disconnected (on_disconnect: cancel)')
      .catch(() => {});
  };
  if (!body.stream) {
    let finished = false;
    // Without a stream, "disconnect" is the client closing the request before the answer.
    // The response's 'close', not the request's: the request closes once its body is read.
    if (body.on_disconnect === 'cancel') {
      reply.raw.on('close', () => {
        if (!finished && !reply.raw.writableFinished) cancelOnDisconnect();
      });
    }
    const result = await handle.result();
    finished = true;
    return reply.send(answer(handle, result));
  }
  const sse = openSse(req, reply);
  let ended = false;
  try {
    let last = 0;
    for (const e of handle.events) {
      await sse.send(eventFrame(e));
      last = e.seq;
    }
    for await (const e of runtime.follow(handle.runId, last, sse.signal)) {
      await sse.send(eventFrame(e));
      if (e.type === 'session_end') {
        ended = true;
        await sse.send({ data: '[DONE]' });
      }
    }
  } catch (err) {
    req.log.warn({ err, run_id: handle.runId }, 'chat stream ended with an error');
  } finally {
    // A client cut off for falling behind resumes from the log: its run carries on.
    const clientLeft = sse.signal.aborted && !sse.fellBehind && !runtime.closingSignal.aborted;
    sse.close();
    if (!ended && clientLeft && body.on_disconnect === 'cancel') cancelOnDisconnect();
  }
}

/** The `stream: false` answer; a run that failed answers with its error's status. */
function answer(handle: RunHandle, r: RunResult) {
  const ids = { session_id: handle.sessionId, run_id: handle.runId };
  if (r.status === 'completed') {
    return { status: 'success', ...ids, response: { text: r.text, tool_calls: r.toolCalls, usage: r.usage } };
  }
  if (r.status === 'input_required') {
    return {
      status: 'input_required',
      ...ids,
      response: { text: null, tool_calls: r.toolCalls, usage: r.usage },
      pending_tool_calls: r.pending,
    };
  }
  const details = { ...ids, code: r.error.code };
  if (r.status === 'cancelled')
    throw new AppError('conflict', `the run was cancelled: ${r.error.message}`, { details });
  if (r.status === 'failed' && r.cause instanceof AppError) {
    throw new AppError(r.cause.code, r.cause.message, {
      details,
      retryAfter: r.cause.retryAfter,
      cause: r.cause,
    });
  }
  if (r.error.code === 'max_steps') throw new AppError('unprocessable', r.error.message, { details });
  if (r.error.code === 'shutdown')
    throw new AppError('unavailable', r.error.message, { details, retryAfter: 1 });
  throw new AppError('internal', r.error.message, { details });
}
