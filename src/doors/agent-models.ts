import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toError, unlessNotFound } from '../errors.ts';
import { callerOf, principalOf, viewerOf } from '../http/caller.ts';
import { agentPinOf } from '../http/routes/common.ts';
import type { Services } from '../http/services.ts';
import type { Gateway } from '../models/gateway.ts';
import type {
  CallContext,
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionRequest,
} from '../models/types.ts';
import { CALLER_WAIT_EVENT } from '../runtime/loop/execute.ts';
import type { RunHandle, Runtime } from '../runtime/runtime.ts';
import { type Attachment, attachmentSchema } from '../runtime/schema.ts';
import type { RunResult } from '../runtime/types.ts';
import { answerCall, callerToolsOf, toolResultsOf } from './caller-tools.ts';

/**
 * Agents as models: on the model front doors (chat completions, responses, messages) a `model` of
 * `agent/<name>` or `agent/<id>` (pinned as `agent/<name>@3` or `agent/<name>@production`) runs that agent, with its own prompt, tools, memory, approvals,
 * budgets and traces, and answers as a model would: a completion, or a stream of chunks. Anything
 * else goes to the gateway. The run is an ordinary run (GET /v1/runs/{id}); its ids come back in
 * the `x-agentry-run-id` and `x-agentry-session-id` headers. `agent/<name>@3` runs version 3. Tools the
 * caller sends join the agent's own (caller-tools.ts): a call of one is answered as that call, and
 * the caller's next request with its results resumes the same run.
 */
export const AGENT_MODEL_PREFIX = 'agent/';

export const isAgentModel = (model: string) => model.startsWith(AGENT_MODEL_PREFIX);

/** Where a model call goes, and what an agent's run added to it. */
export interface ModelCallOptions {
  /** Continue this agent session (a Responses follow-up of an agent's response). */
  sessionId?: string;
  /** Told the run's ids, and its agent's, once it started. */
  onRun?: (ids: { sessionId: string; runId: string; agentId: string }) => void;
}

/** The model calls of one front door: to the gateway, or to an agent for `agent/…` models. */
export class ModelDoor {
  private readonly models: Gateway;
  private readonly runtime: Runtime;
  private readonly agents: Services['agents'];
  private readonly sessions: Services['sessions'];

  constructor(services: Pick<Services, 'models' | 'runtime' | 'agents' | 'sessions'>) {
    this.models = services.models;
    this.runtime = services.runtime;
    this.agents = services.agents;
    this.sessions = services.sessions;
  }

  async complete(
    req: FastifyRequest,
    reply: FastifyReply,
    request: CompletionRequest,
    ctx: CallContext,
    options: ModelCallOptions = {},
  ): Promise<Completion> {
    if (!isAgentModel(request.model)) return this.models.complete(request, ctx);
    const { handle, answerTool } = await this.start(req, reply, request, false, options);
    const result = await handle.result();
    return completionOf(request.model, handle, result, answerTool);
  }

  /** The gateway's chunks, or an agent run's text as chunks and its outcome as the finish. */
  stream(
    req: FastifyRequest,
    reply: FastifyReply,
    request: CompletionRequest,
    ctx: CallContext,
    options: ModelCallOptions = {},
  ): AsyncIterable<CompletionChunk> {
    if (!isAgentModel(request.model)) return this.models.stream(request, ctx);
    return this.streamRun(req, reply, request, options);
  }

  private async *streamRun(
    req: FastifyRequest,
    reply: FastifyReply,
    request: CompletionRequest,
    options: ModelCallOptions,
  ): AsyncIterable<CompletionChunk> {
    const { handle, answerTool } = await this.start(req, reply, request, true, options);
    const stop = new AbortController();
    let last = handle.events.at(-1)?.seq ?? 0;
    try {
      for await (const e of this.runtime.follow(handle.runId, last, stop.signal)) {
        last = e.seq;
        // A forced tool's answer is that tool's arguments, sent whole once the run has checked it.
        if (!answerTool && e.type === 'text' && typeof e.data.delta === 'string' && e.data.delta) {
          yield { type: 'text', delta: e.data.delta };
        }
        if (e.type === 'session_end' || e.type === 'approval_required' || e.type === CALLER_WAIT_EVENT) break;
      }
    } finally {
      stop.abort();
    }
    const done = completionOf(request.model, handle, await handle.result(), answerTool);
    for (const [index, c] of (done.message.tool_calls ?? []).entries()) {
      yield {
        type: 'tool_call',
        index,
        id: c.id,
        name: c.function.name,
        arguments_delta: c.function.arguments,
      };
    }
    // The run's own text events were the answer; only an approval notice is added at the end.
    if (done.finish_reason === 'stop' && done.message.content?.startsWith(APPROVAL_NOTE)) {
      yield { type: 'text', delta: done.message.content };
    }
    yield { type: 'finish', finish_reason: done.finish_reason, usage: done.usage, model: request.model };
  }

  private visible(req: FastifyRequest, runId: string): Promise<boolean> {
    return this.sessions.assertRunVisible(principalOf(req).tenantId, runId, viewerOf(req)).then(
      () => true,
      (err: unknown) => unlessNotFound(err) ?? false,
    );
  }

  private async start(
    req: FastifyRequest,
    reply: FastifyReply,
    request: CompletionRequest,
    stream: boolean,
    options: ModelCallOptions,
  ): Promise<{ handle: RunHandle; answerTool?: string }> {
    const ref = request.model.slice(AGENT_MODEL_PREFIX.length);
    if (!ref)
      throw new AppError('bad_request', 'model "agent/" names no agent: use agent/<name> or agent/<id>');
    const tenantId = principalOf(req).tenantId;
    // `agent/<name>@3` and `agent/<name>@production` run that version (the one place pins parse).
    const { agentId, version } = await agentPinOf(this.agents, req, ref);
    const results = toolResultsOf(request.messages);
    let handle: RunHandle;
    let answerTool: string | undefined;
    if (results) {
      // The results of the caller's tools a run of this agent waits on: that run carries on.
      const found = await this.runtime.waitingOn(tenantId, [...results.keys()]);
      // A run in another user's private session is answered as no run at all (no existence leak).
      const waiting = found && (await this.visible(req, found.id)) ? found : undefined;
      if (!waiting || waiting.agent_id !== agentId) {
        const id = [...results.keys()][0];
        throw new AppError(
          'conflict',
          `messages: no run of ${request.model} waits on tool call ${id} (it was answered, expired or never made)`,
          { details: { tool_call_id: id } },
        );
      }
      handle = await this.runtime.supplyToolResults(callerOf(req), waiting.id, results);
    } else {
      const plan = callerToolsOf(request);
      answerTool = plan.answerTool;
      // The caller's structured output (or forced tool) replaces the agent's own; absent, the agent's applies.
      const format = plan.responseFormat ?? request.response_format;
      handle = await this.runtime.run(callerOf(req), agentId, {
        message: messageFor(request.messages, options.sessionId !== undefined),
        ...attachmentsOf(request.messages),
        ...(options.sessionId && { session_id: options.sessionId }),
        stream,
        multitask: 'reject',
        on_disconnect: 'cancel',
        ...(version !== undefined && { agent_version: version }),
        ...(format && { response_format: format }),
        ...(plan.tools.length > 0 && { callerTools: plan.tools }),
      });
    }
    // On the raw response too: a stream's head is written there (startSse), past the reply's headers.
    for (const [name, value] of [
      ['x-agentry-run-id', handle.runId],
      ['x-agentry-session-id', handle.sessionId],
    ] as const) {
      reply.header(name, value);
      reply.raw.setHeader(name, value);
    }
    options.onRun?.({ sessionId: handle.sessionId, runId: handle.runId, agentId });
    // A caller that leaves before the answer cancels the run: nobody is there to read it.
    reply.raw.on('close', () => {
      if (reply.raw.writableFinished) return;
      this.runtime
        .cancel(principalOf(req).tenantId, handle.runId, 'the client disconnected')
        .catch((err) => req.log.debug({ err: toError(err), run_id: handle.runId }, 'run already ended'));
    });
    return { handle, ...(answerTool && { answerTool }) };
  }
}

/**
 * The agent's message: the last user turn. Earlier turns a stateless client sends again (chat
 * completions and messages keep no state) go before it as a transcript, since the run's session
 * starts empty; with a session (a Responses follow-up) the session holds them already.
 */
function messageFor(messages: readonly ChatMessage[], inSession: boolean): string {
  const last = messages.at(-1);
  if (last?.role !== 'user' || !last.content) {
    throw new AppError(
      'bad_request',
      'messages: an agent model answers a last message from the user, with text',
    );
  }
  // An earlier tool loop of the caller's (its calls and results) is part of the transcript.
  const earlier = inSession ? [] : messages.slice(0, -1).filter((m) => m.content || m.tool_calls?.length);
  if (earlier.length === 0) return last.content;
  const lines = earlier.map(transcriptLine);
  return `The conversation so far:\n${lines.join('\n')}\n\n${last.content}`;
}

function transcriptLine(m: ChatMessage): string {
  if (m.role === 'tool') return `tool result: ${m.content ?? ''}`;
  const calls = (m.tool_calls ?? []).map((c) => `${c.function.name}(${c.function.arguments})`);
  const text = [m.content, ...(calls.length > 0 ? [`called ${calls.join(', ')}`] : [])].filter(Boolean);
  return `${m.role === 'system' ? 'instructions' : m.role}: ${text.join('; ')}`;
}

/** The last user message's images, audio and files, as the agent chat's attachments. */
function attachmentsOf(messages: readonly ChatMessage[]): { attachments?: Attachment[] } {
  const parts = (messages.at(-1)?.parts ?? []).filter((p) => p.type !== 'text');
  if (parts.length === 0) return {};
  const parsed = attachmentSchema.array().max(16).safeParse(parts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      'bad_request',
      `messages: an agent model takes images (image_url), audio (input_audio) and files (file), at most 16: ${issue?.message ?? 'invalid part'}`,
      { details: { param: `messages[${messages.length - 1}].content` } },
    );
  }
  return { attachments: parsed.data };
}

const APPROVAL_NOTE = 'Waiting for approval:';

function completionOf(model: string, handle: RunHandle, r: RunResult, answerTool?: string): Completion {
  const base = { id: `chatcmpl-${handle.runId}`, model, usage: r.usage };
  if (r.status === 'completed' && answerTool) {
    const call = answerCall(handle.runId, answerTool, r.text);
    return {
      ...base,
      message: { role: 'assistant', content: null, tool_calls: [call] },
      finish_reason: 'tool_calls',
    };
  }
  if (r.status === 'completed') {
    return { ...base, message: { role: 'assistant', content: r.text }, finish_reason: 'stop' };
  }
  if (r.status === 'input_required' && r.forCaller?.length) {
    // The model called the caller's tools: the run waits for their results in the next request.
    return {
      ...base,
      message: { role: 'assistant', content: null, tool_calls: r.forCaller },
      finish_reason: 'tool_calls',
    };
  }
  if (r.status === 'input_required') {
    // Approvals apply: the run pauses, and the caller is told where a person approves it.
    const calls = r.pending.map((c) => c.name).join(', ');
    const content = `${APPROVAL_NOTE} ${calls}. Approve with POST /v1/runs/${handle.runId}/approve or deny with /deny; the answer is then on GET /v1/runs/${handle.runId}.`;
    return { ...base, message: { role: 'assistant', content }, finish_reason: 'stop' };
  }
  const details = { run_id: handle.runId, session_id: handle.sessionId, code: r.error.code };
  if (r.status === 'failed' && r.cause instanceof AppError) {
    throw new AppError(r.cause.code, r.cause.message, {
      details,
      retryAfter: r.cause.retryAfter,
      cause: r.cause,
    });
  }
  if (r.status === 'cancelled')
    throw new AppError('conflict', `the run was cancelled: ${r.error.message}`, { details });
  // Released by a process shutting down: another one carries the run on; the client comes back.
  if (r.error.code === 'released')
    throw new AppError('unavailable', r.error.message, { details, retryAfter: 1 });
  throw new AppError('bad_gateway', `the agent's run failed: ${r.error.message}`, { details });
}
