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

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
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
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface Completion {
  id: string;
  /** The model that actually answered (after aliases and fallbacks). */
  model: string;
  message: ChatMessage & { role: 'assistant' };
  finish_reason: FinishReason;
  usage: Usage;
}

/** Streaming pieces, in order: text and tool-call fragments, then exactly one `finish`. */
export type CompletionChunk =
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments_delta: string }
  | { type: 'finish'; finish_reason: FinishReason; usage: Usage; model: string };

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
