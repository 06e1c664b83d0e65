import type { Config } from '../config/config.ts';
import type { ModelTimeouts, ProviderConfig, ProviderType } from '../config/models-config.ts';
import type { OfflineEncoder } from './offline-encoder/offline-encoder.ts';
import type { Unsupported } from './request-support.ts';
import type { CallerSignal, Completion, CompletionChunk, CompletionRequest } from './types.ts';

/** One call to one provider endpoint: the model name is the provider's own (no `provider/` prefix). */
export interface ProviderCall {
  request: CompletionRequest;
  /** Aborts the call: client gone, timeout, shutdown. `abortSignalOf` makes it an AbortSignal. */
  signal: CallerSignal;
  /** Forwarded upstream as `X-Request-Id`. */
  requestId?: string;
  /** Forwarded upstream as `traceparent`: the model call's span, so the provider's spans join the trace. */
  traceparent?: string;
  /** Forwarded upstream as `tracestate`: the caller's, unchanged. */
  tracestate?: string;
}

/** One embeddings call (OpenAI `/v1/embeddings` shapes), with the provider's own model name. */
export interface EmbedCall {
  model: string;
  /** The texts to embed; for token-array input, each list's ids joined by spaces (`tokens`). */
  input: string[];
  /**
   * Token-array input as the caller sent it (OpenAI's `input: number[][]`): OpenAI-type providers get
   * it unchanged; a provider that cannot decode the ids (the mock) embeds `input`, the ids as text.
   */
  tokens?: number[][];
  /** Output dimensions, for models that can shorten their vectors. */
  dimensions?: number;
  /** Other /v1/embeddings fields (user, …), sent unchanged to OpenAI-type providers. */
  extra?: Record<string, unknown>;
  signal: CallerSignal;
  requestId?: string;
}

export interface Embeddings {
  /** One vector per input, in input order. */
  data: number[][];
  prompt_tokens: number;
}

/** A model provider speaks one protocol to one endpoint and maps it to and from the OpenAI shapes. */
export interface Provider {
  /** The name used in `provider/model`. */
  readonly name: string;
  readonly type: ProviderType;
  complete(call: ProviderCall): Promise<Completion>;
  stream(call: ProviderCall): AsyncIterable<CompletionChunk>;
  /**
   * The first request field (an extra field, a content part) this provider cannot honour; the
   * gateway refuses such a call with a 400 naming it rather than drop the field. None: all honoured.
   */
  unsupported?(request: CompletionRequest): Unsupported | undefined;
  /** Text embeddings, where the protocol has them (OpenAI-compatible endpoints). */
  embed?(call: EmbedCall): Promise<Embeddings>;
}

/** What a provider is made from: its endpoint's entry in `models.providers`, resolved. */
export interface ProviderSetup {
  /** The name used in `provider/model`. */
  name: string;
  endpoint: ProviderConfig;
  /** The key, read from the environment variable the endpoint names. */
  apiKey?: string;
  /** The endpoint's extra headers (`headers_env`), read from the environment. */
  headers?: Record<string, string>;
  /** `models.timeouts` with the endpoint's own overrides. */
  timeouts: ModelTimeouts;
  /** The gateway's settings (`models.*`): defaults a provider may need (`mock`, `default_max_tokens`). */
  models: Config['models'];
  /** The process's offline encoder and its threads (the mock's `universal-sentence-encoder`). */
  offlineEncoder?: OfflineEncoder;
}

/** Makes one provider endpoint; each kind exports one, listed in `providers/registry.ts`. */
export type ProviderFactory = (setup: ProviderSetup) => Provider;

/**
 * A failure talking to a provider, classified for retry and breaker decisions. `status` is the
 * upstream HTTP status (undefined for network errors and timeouts).
 */
export class UpstreamError extends Error {
  readonly status?: number;
  /** Seconds the upstream asked us to wait (Retry-After), when it said so. */
  readonly retryAfter?: number;
  readonly kind: 'http' | 'network' | 'timeout' | 'aborted';
  /**
   * The same call would fail the same way (in-process work past its deadline): never retried, and
   * no fault of the endpoint, whose breaker also guards its other models.
   */
  readonly final: boolean;

  constructor(
    kind: UpstreamError['kind'],
    message: string,
    options: { status?: number; retryAfter?: number; cause?: unknown; final?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'UpstreamError';
    this.kind = kind;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
    this.final = options.final ?? false;
  }

  /** Worth another attempt: network trouble, timeouts, 408, 409 (OpenAI's lock timeout), 429 and 5xx. */
  get retryable(): boolean {
    if (this.kind === 'aborted' || this.final) return false;
    if (this.kind !== 'http') return true;
    const s = this.status ?? 0;
    return s === 408 || s === 409 || s === 429 || s >= 500;
  }

  /** Counts against the endpoint's breaker: the endpoint misbehaved (not the caller's request). */
  get endpointFault(): boolean {
    return this.retryable && this.status !== 429 && this.status !== 409;
  }
}
