import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import type { RunHandle, Runtime } from '../runtime/runtime.ts';
import type { ChatInput } from '../runtime/schema.ts';
import type { RunResult } from '../runtime/types.ts';
import { callerOf } from './caller.ts';
import { eventFrame, openSse } from './sse.ts';

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
      .catch((err) =>
        req.log.warn({ err, run_id: handle.runId }, 'could not cancel the run of a client that left'),
      );
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
  // The model's answer was not usable: no final answer in time, or not the structured output asked for.
  if (r.error.code === 'max_steps' || r.error.code === 'invalid_output')
    throw new AppError('unprocessable', r.error.message, { details });
  // Released by a process shutting down: another one carries the run on; the client comes back.
  if (r.error.code === 'released')
    throw new AppError('unavailable', r.error.message, { details, retryAfter: 1 });
  throw new AppError('internal', r.error.message, { details });
}
