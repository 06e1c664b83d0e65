import { AppError } from '../errors.ts';
import { badParam } from './request-support.ts';
import type {
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionRequest,
  ContentPart,
  ResponseFormat,
  ToolSpec,
} from './types.ts';

/**
 * The OpenAI Chat Completions wire format, as /v1/chat/completions speaks it: requests in, responses,
 * stream chunks and errors out. Field order and nulls follow OpenAI's own answers, because clients
 * (the official SDKs first) are written against them.
 */

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
  response_format?: ResponseFormat | null;
  [field: string]: unknown;
}

/** The fields the gateway acts on itself; every other field (`n` too, once checked) travels in `extra`. */
const modelled = new Set([
  'model',
  'messages',
  'tools',
  'tool_choice',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'stream',
  'response_format',
  'reasoning_effort',
]);

/** The gateway request for a wire request; 400 for what the gateway cannot honour. */
export function fromWire(body: WireRequest): CompletionRequest {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw badParam('n', 'n must be 1: the gateway answers one choice per request');
  }
  const messages: ChatMessage[] = body.messages.map((m, i) => {
    const parts =
      Array.isArray(m.content) && m.content.some((p) => p.type !== 'text') ? m.content : undefined;
    return {
      role: m.role === 'developer' ? 'system' : m.role,
      content: textOf(m.content, i),
      ...(parts && { parts: checkParts(parts, i) }),
      ...(m.name !== undefined && { name: m.name }),
      ...(m.tool_calls && m.tool_calls.length > 0 && { tool_calls: m.tool_calls }),
      ...(m.tool_call_id !== undefined && { tool_call_id: m.tool_call_id }),
    };
  });
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!modelled.has(k) && v !== undefined) extra[k] = v;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const format = body.response_format ?? undefined;
  return {
    model: body.model,
    messages,
    wire_messages: body.messages,
    ...(body.tools && body.tools.length > 0 && { tools: body.tools }),
    ...(body.tool_choice !== undefined && { tool_choice: body.tool_choice }),
    ...(maxTokens !== undefined && { max_tokens: maxTokens }),
    ...(body.max_completion_tokens != null && { max_tokens_field: 'max_completion_tokens' as const }),
    ...(body.temperature !== undefined && body.temperature !== null && { temperature: body.temperature }),
    ...(body.top_p !== undefined && body.top_p !== null && { top_p: body.top_p }),
    ...(body.stop !== undefined && body.stop !== null && { stop: body.stop }),
    ...(format && format.type !== 'text' && { response_format: format }),
    ...(typeof body.reasoning_effort === 'string' && { reasoning: { effort: body.reasoning_effort } }),
    ...(Object.keys(extra).length > 0 && { extra }),
  };
}

/** Text parts joined: what token estimates, traces and text-only providers read. */
function textOf(content: WireMessage['content'], index: number): string | null {
  if (content === undefined || content === null || typeof content === 'string') return content ?? null;
  return content
    .map((part, j) => {
      if (part.type === 'text' && typeof part.text !== 'string') {
        throw badParam(`messages[${index}].content[${j}].text`, 'a text part needs its text');
      }
      return part.type === 'text' ? part.text : '';
    })
    .join('');
}

/** Inline data (data URLs, base64 audio and files) larger than this is refused with a 413. */
export const MAX_INLINE_PART_BYTES = 20 * 1024 * 1024;

/** Parts the gateway knows, their inline data within the limit. */
function checkParts(parts: ContentPart[], index: number): ContentPart[] {
  for (const [j, part] of parts.entries()) {
    const param = `messages[${index}].content[${j}]`;
    const inline = inlineData(part);
    if (inline === null) {
      throw badParam(
        param,
        `${param}: unknown content part type ${JSON.stringify(part.type)} (known: ${knownParts.join(', ')})`,
      );
    }
    // base64 holds 3 bytes in 4 characters.
    if (inline !== undefined && (inline.length * 3) / 4 > MAX_INLINE_PART_BYTES) {
      throw new AppError(
        'payload_too_large',
        `${param}: inline ${part.type} data is over ${MAX_INLINE_PART_BYTES / 1024 / 1024} MB`,
        { details: { param } },
      );
    }
  }
  return parts;
}

const knownParts = ['text', 'image_url', 'input_audio', 'file', 'refusal'];

/** A part's inline (base64) data; undefined when it has none; null for an unknown part type. */
function inlineData(part: ContentPart): string | undefined | null {
  const field = (name: string) => (part[name] ?? {}) as Record<string, unknown>;
  switch (part.type) {
    case 'text':
    case 'refusal':
      return undefined;
    case 'image_url': {
      const url = field('image_url').url;
      return typeof url === 'string' && url.startsWith('data:') ? url : undefined;
    }
    case 'input_audio': {
      const data = field('input_audio').data;
      return typeof data === 'string' ? data : undefined;
    }
    case 'file': {
      const data = field('file').file_data;
      return typeof data === 'string' ? data : undefined;
    }
    default:
      return null;
  }
}

export function toWireCompletion(c: Completion, created: number) {
  const x = c.extras;
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
          refusal: x?.refusal ?? null,
          ...x?.message,
          ...(c.message.tool_calls && { tool_calls: c.message.tool_calls }),
        },
        logprobs: x?.logprobs ?? null,
        finish_reason: c.finish_reason,
      },
    ],
    usage: c.usage,
    ...(x?.service_tier !== undefined && { service_tier: x.service_tier }),
    system_fingerprint: x?.system_fingerprint ?? null,
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
      const fingerprint = chunk.extras?.system_fingerprint;
      if (fingerprint)
        this.head = this.head.replace(
          '"system_fingerprint":null',
          `"system_fingerprint":${JSON.stringify(fingerprint)}`,
        );
      const out = [this.frame({}, chunk.finish_reason)];
      if (this.includeUsage) {
        out.push(
          JSON.stringify({
            id: this.id,
            object: 'chat.completion.chunk',
            created: this.created,
            model: this.model,
            ...(chunk.extras?.service_tier !== undefined && { service_tier: chunk.extras.service_tier }),
            system_fingerprint: fingerprint ?? null,
            choices: [],
            usage: chunk.usage,
          }),
        );
      }
      return out;
    }
    if (chunk.type === 'text') return [this.frame({ content: chunk.delta }, null, chunk.logprobs)];
    if (chunk.type === 'thinking') return [];
    const call: Record<string, unknown> = { index: chunk.index };
    if (chunk.id) call.id = chunk.id;
    if (chunk.id || chunk.name) call.type = 'function';
    call.function = { ...(chunk.name && { name: chunk.name }), arguments: chunk.arguments_delta };
    return [this.frame({ tool_calls: [call] }, null)];
  }

  private frame(delta: Record<string, unknown>, finish: string | null, logprobs?: unknown): string {
    // The first chunk carries the role, as OpenAI's do.
    const d = this.roleSent
      ? delta
      : { role: 'assistant', ...(delta.tool_calls ? { content: null } : {}), ...delta };
    this.roleSent = true;
    // The same text as JSON.stringify of the whole chunk, with its fixed part written once.
    return `${this.head}${JSON.stringify(d)},"logprobs":${logprobs === undefined ? 'null' : JSON.stringify(logprobs)},"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]${this.tail}`;
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
  409: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'service_unavailable_error',
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
