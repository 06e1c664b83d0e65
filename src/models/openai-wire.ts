import { AppError } from '../errors.ts';
import type { ChatMessage, Completion, CompletionChunk, CompletionRequest, ToolSpec } from './types.ts';

/**
 * The OpenAI Chat Completions wire format, as /v1/chat/completions speaks it: requests in, responses,
 * stream chunks and errors out. Field order and nulls follow OpenAI's own answers, because clients
 * (the official SDKs first) are written against them.
 */

type ContentPart = { type: string; text?: string };
export interface WireMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ChatMessage['tool_calls'];
  tool_call_id?: string;
}

export interface WireRequest {
  model: string;
  messages: WireMessage[];
  tools?: ToolSpec[];
  tool_choice?: CompletionRequest['tool_choice'];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
}

/** The gateway request for a wire request; 400 for what the gateway cannot honour. */
export function fromWire(body: WireRequest): CompletionRequest {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw new AppError('bad_request', 'n must be 1: one choice per request is supported');
  }
  const messages: ChatMessage[] = body.messages.map((m, i) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: textOf(m.content, i),
    ...(m.name !== undefined && { name: m.name }),
    ...(m.tool_calls && m.tool_calls.length > 0 && { tool_calls: m.tool_calls }),
    ...(m.tool_call_id !== undefined && { tool_call_id: m.tool_call_id }),
  }));
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return {
    model: body.model,
    messages,
    ...(body.tools && body.tools.length > 0 && { tools: body.tools }),
    ...(body.tool_choice !== undefined && { tool_choice: body.tool_choice }),
    ...(maxTokens !== undefined && { max_tokens: maxTokens }),
    ...(body.temperature !== undefined && body.temperature !== null && { temperature: body.temperature }),
    ...(body.top_p !== undefined && body.top_p !== null && { top_p: body.top_p }),
    ...(body.stop !== undefined && body.stop !== null && { stop: body.stop }),
  };
}

function textOf(content: WireMessage['content'], index: number): string | null {
  if (content === undefined || content === null || typeof content === 'string') return content ?? null;
  return content
    .map((part, j) => {
      if (part.type !== 'text' || typeof part.text !== 'string') {
        throw new AppError('bad_request', `messages[${index}].content[${j}]: only text parts are supported`);
      }
      return part.text;
    })
    .join('');
}

export function toWireCompletion(c: Completion, created: number) {
  return {
    id: c.id,
    object: 'chat.completion',
    created,
    model: c.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: c.message.content,
          refusal: null,
          ...(c.message.tool_calls && { tool_calls: c.message.tool_calls }),
        },
        logprobs: null,
        finish_reason: c.finish_reason,
      },
    ],
    usage: c.usage,
    system_fingerprint: null,
  };
}

/** Renders stream chunks as `data:` payloads (one JSON string each), with the id and model fixed. */
export class WireChunker {
  private roleSent = false;
  /** The JSON every chunk starts with, up to its delta: the same for the whole stream. */
  private head: string;
  private readonly tail: string;

  constructor(
    private readonly id: string,
    private readonly created: number,
    private model: string,
    private readonly includeUsage: boolean,
  ) {
    this.head = this.headFor(model);
    this.tail = includeUsage ? ',"usage":null}' : '}';
  }

  private headFor(model: string): string {
    return `{"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":[{"index":0,"delta":`;
  }

  /** JSON payloads for one gateway chunk (a finish with include_usage yields two). */
  render(chunk: CompletionChunk): string[] {
    if (chunk.type === 'finish') {
      if (chunk.model !== this.model) this.head = this.headFor(chunk.model);
      this.model = chunk.model;
      const out = [this.frame({}, chunk.finish_reason)];
      if (this.includeUsage) {
        out.push(
          JSON.stringify({
            id: this.id,
            object: 'chat.completion.chunk',
            created: this.created,
            model: this.model,
            system_fingerprint: null,
            choices: [],
            usage: chunk.usage,
          }),
        );
      }
      return out;
    }
    if (chunk.type === 'text') return [this.frame({ content: chunk.delta }, null)];
    const call: Record<string, unknown> = { index: chunk.index };
    if (chunk.id) call.id = chunk.id;
    if (chunk.id || chunk.name) call.type = 'function';
    call.function = { ...(chunk.name && { name: chunk.name }), arguments: chunk.arguments_delta };
    return [this.frame({ tool_calls: [call] }, null)];
  }

  private frame(delta: Record<string, unknown>, finish: string | null): string {
    // The first chunk carries the role, as OpenAI's do.
    const d = this.roleSent
      ? delta
      : { role: 'assistant', ...(delta.tool_calls ? { content: null } : {}), ...delta };
    this.roleSent = true;
    // The same text as JSON.stringify of the whole chunk, with its fixed part written once.
    return `${this.head}${JSON.stringify(d)},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]${this.tail}`;
  }
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export function wireError(status: number, code: string, message: string, param: string | null = null) {
  return {
    error: {
      message,
      type: errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'),
      param,
      code,
    },
  };
}
