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
  /** An assistant turn's thinking blocks (before its text and tool calls), for Anthropic models. */
  thinking?: ThinkingBlock[];
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
  /**
   * How hard the model should think before it answers: OpenAI's effort (`reasoning_effort`, the
   * Responses API's `reasoning`) or Anthropic's thinking budget; each provider maps the one it lacks
   * from the other (docs/providers.md).
   */
  reasoning?: Reasoning;
  /**
   * The caller renders thinking blocks (the Messages door): only then does a stream carry `thinking`
   * chunks and an answer its `thinking` blocks; other callers never see them.
   */
  thinking_blocks?: boolean;
}

export interface Reasoning {
  /** `none`, `minimal`, `low`, `medium`, `high` (or a vendor's own word, passed on as it is). */
  effort?: string;
  /** Anthropic's `thinking.budget_tokens`. */
  budget_tokens?: number;
  /** The Responses API's `reasoning.summary`. */
  summary?: string;
  /**
   * Anthropic's own settings, from the Messages door (`thinking` as sent: enabled, adaptive, …;
   * `output_config.effort`): Anthropic models get them as they are, others `effort` or the budget.
   */
  anthropic?: { thinking?: Record<string, unknown>; effort?: string };
}

/** A thinking block of an Anthropic model, as it sent it: later turns must send it back unchanged. */
export type ThinkingBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

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
  /**
   * As the provider sent them (cached tokens, audio tokens). The gateway reads `cached_tokens`
   * (prompt tokens read from the provider's cache) and `cache_write_tokens` (written to it: Anthropic's
   * cache creation), both counted in `prompt_tokens` too.
   */
  prompt_tokens_details?: Record<string, unknown>;
  /** As the provider sent them (`reasoning_tokens`, counted in `completion_tokens` too; prediction tokens). */
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
  /** The caller's stop sequence that ended the answer, when the provider says which (Anthropic, the mock). */
  stop_sequence?: string;
  usage: Usage;
  extras?: CompletionExtras;
}

/** Streaming pieces, in order: text and tool-call fragments, then exactly one `finish`. */
export type CompletionChunk =
  | { type: 'text'; delta: string; logprobs?: unknown }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments_delta: string }
  /**
   * A piece of a thinking block, only to callers that set `thinking_blocks`: `block` numbers the
   * thinking blocks of the answer; `thinking` and `signature` arrive as deltas, `data` whole.
   */
  | { type: 'thinking'; block: number; thinking?: string; signature?: string; data?: string }
  | {
      type: 'finish';
      finish_reason: FinishReason;
      /** As `Completion.stop_sequence`. */
      stop_sequence?: string;
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
