/**
 * The model gateway's contract, in OpenAI Chat Completions shapes (the lingua franca of providers).
 * Everything that calls a model — agents, tasks, the /v1/chat/completions API — goes through a
 * `ModelGateway`, which applies routing, budgets, rate limits, retries and usage recording.
 */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One part of a message's content (OpenAI's shapes: text, image_url, input_audio, file, …). */
export interface ContentPart {
  type: string;
  text?: string;
  [field: string]: unknown;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** The text of the message (a multi-part message's text parts, joined). */
  content: string | null;
  /** A multi-part message's parts as sent (images, audio, files), for providers that take them. */
  parts?: ContentPart[];
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolSpec {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface CompletionRequest {
  /** `provider/model`, or an alias from config. */
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  /** Structured output: JSON mode or a JSON schema the answer must match. */
  response_format?: ResponseFormat;
  /** The name the caller gave the token limit: OpenAI-type providers get it back under that name. */
  max_tokens_field?: 'max_tokens' | 'max_completion_tokens';
  /**
   * Other Chat Completions fields (seed, user, logprobs, penalties, …), as sent: OpenAI-type providers
   * get them unchanged; other providers honour what they can and refuse the rest (`unsupported`).
   */
  extra?: Record<string, unknown>;
  /** The caller's messages as sent (developer role, parts, extra fields), for OpenAI-type providers. */
  wire_messages?: unknown[];
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: {
        name: string;
        description?: string;
        schema?: Record<string, unknown>;
        strict?: boolean | null;
      };
    };

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** As the provider sent them (cached tokens, audio tokens). */
  prompt_tokens_details?: Record<string, unknown>;
  /** As the provider sent them (reasoning tokens, prediction tokens). */
  completion_tokens_details?: Record<string, unknown>;
}

/** Answer fields the gateway passes on as the provider sent them (OpenAI-type providers). */
export interface CompletionExtras {
  logprobs?: unknown;
  refusal?: string | null;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  /** Other message fields (annotations, audio). */
  message?: Record<string, unknown>;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface Completion {
  id: string;
  /** The model that actually answered (after aliases and fallbacks). */
  model: string;
  message: ChatMessage & { role: 'assistant' };
  finish_reason: FinishReason;
  usage: Usage;
  extras?: CompletionExtras;
}

/** Streaming pieces, in order: text and tool-call fragments, then exactly one `finish`. */
export type CompletionChunk =
  | { type: 'text'; delta: string; logprobs?: unknown }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments_delta: string }
  | {
      type: 'finish';
      finish_reason: FinishReason;
      usage: Usage;
      model: string;
      /** system_fingerprint and service_tier, as the provider sent them. */
      extras?: CompletionExtras;
    };

/**
 * What the gateway needs of a caller's abort signal. An AbortSignal is one; the chat completions
 * route passes a lighter one per request (a `CallSignal`): an AbortSignal is an EventTarget with two
 * Maps, and in bench/gateway.ts's instant rows the route's were about a third of what each
 * scavenge found alive (and copied).
 */
export interface CallerSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Who is calling and why: used for policy, budgets, usage records and tracing. */
export interface CallContext {
  tenantId: string;
  tenantName: string;
  agentId?: string;
  agentName?: string;
  keyId?: string;
  requestId?: string;
  traceId?: string;
  /** The caller's span (W3C traceparent), so the model call's span joins its trace. */
  parentSpanId?: string;
  /** The caller's W3C `tracestate`, sent on with every `traceparent`. */
  traceState?: string;
  /** Aborts the upstream call (client disconnected, task cancelled). */
  signal?: CallerSignal;
  /** Per-call overrides of the configured timeouts, in ms. */
  timeouts?: { connect_ms?: number; first_byte_ms?: number; total_ms?: number };
  /** Filled in by the gateway as the call proceeds (for Server-Timing and callers that measure). */
  timing?: CallTiming;
}

/** Where the time of one call went, in ms. `gateway_ms` is the gateway's own overhead. */
export interface CallTiming {
  gateway_ms?: number;
  upstream_ms?: number;
  /** Streaming: from the call until the first chunk was handed to the caller. */
  first_chunk_ms?: number;
  /** The model that answered and the attempts it took, fallbacks included. */
  model?: string;
  attempts?: number;
  /** The answer's price by the catalog, in USD. */
  cost?: number;
}

export interface ModelGateway {
  complete(request: CompletionRequest, ctx: CallContext): Promise<Completion>;
  stream(request: CompletionRequest, ctx: CallContext): AsyncIterable<CompletionChunk>;
}
