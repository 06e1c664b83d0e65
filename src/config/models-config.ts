import { z } from 'zod';
import { breakerOptions, retryOptions } from './resilience-config.ts';

/**
 * The model gateway's part of the config tree (`models.*`), kept beside config.ts so that file stays
 * readable. API keys never appear here: a provider names the environment variable that holds its key.
 */

const timeouts = z
  .object({
    /** TCP/TLS connect to the provider. */
    connect_ms: z.coerce.number().int().positive().default(5_000),
    /** Until the first streamed chunk (streaming) or the response headers (non-streaming). */
    first_byte_ms: z.coerce.number().int().positive().default(60_000),
    /** The whole call, retries excluded (each attempt gets its own). */
    total_ms: z.coerce.number().int().positive().default(600_000),
  })
  .strict();
export type ModelTimeouts = z.infer<typeof timeouts>;

/**
 * Every kind of model provider, by the protocol its endpoint speaks (`models.providers.<name>.type`).
 * Each has its file under `src/models/providers/` and its entry in `providers/registry.ts`, which the
 * compiler holds to exactly these names.
 */
export const providerTypes = ['mock', 'openai', 'anthropic'] as const;
export type ProviderType = (typeof providerTypes)[number];

const provider = z
  .object({
    /** Which protocol the endpoint speaks. */
    type: z.enum(providerTypes),
    /** Endpoint base URL (OpenAI-compatible: include `/v1`). Omitted: the vendor's official one. */
    base_url: z.url().optional(),
    /** Name of the environment variable holding the API key (never the key itself). */
    api_key_env: z.string().optional(),
    /** Overrides of `models.timeouts` for this endpoint. */
    timeouts: timeouts.partial().optional(),
  })
  .strict();
export type ProviderConfig = z.infer<typeof provider>;

const price = z
  .object({
    /** Currency units (USD by convention) per million prompt tokens. */
    input: z.number().min(0),
    /** Currency units per million completion tokens. */
    output: z.number().min(0),
  })
  .strict();
export type ModelPrice = z.infer<typeof price>;

const scriptedTurn = z
  .object({
    content: z.string().optional(),
    tool_calls: z
      .array(
        z
          .object({
            id: z.string().optional(),
            name: z.string(),
            arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).default({}),
          })
          .strict(),
      )
      .optional(),
    finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter']).optional(),
    /** Fail this turn instead of answering: an upstream-style error with this HTTP status. */
    error: z.object({ status: z.number().int(), message: z.string() }).strict().optional(),
    /** Extra delay before this turn's first chunk. */
    delay_ms: z.number().int().min(0).optional(),
  })
  .strict();
export type ScriptedTurn = z.infer<typeof scriptedTurn>;

export const modelGatewayConfig = {
  /**
   * Provider endpoints by the name used in `provider/model`. `mock` always exists; `openai` and
   * `anthropic` point at the vendors with OPENAI_API_KEY / ANTHROPIC_API_KEY unless redefined here.
   */
  providers: z.record(z.string().regex(/^[a-z0-9_-]+$/), provider).default({}),
  /** Short names for models: `fast: openai/gpt-4o-mini`. */
  aliases: z.record(z.string(), z.string()).default({}),
  /** Prices by `provider/model`; a model with no price costs 0 (mock, local models). */
  prices: z.record(z.string(), price).default({}),
  /** Models tried in order when a model fails or its breaker is open: `openai/gpt-4o: [anthropic/claude-…]`. */
  fallbacks: z.record(z.string(), z.array(z.string())).default({}),
  /**
   * Completion tokens reserved against budgets for a call that sets no max_tokens, and sent as its
   * max_tokens so the call cannot outgrow what was reserved (`models.output_tokens` per model first).
   */
  default_max_tokens: z.coerce.number().int().positive().default(4096),
  /**
   * A model's typical output, in tokens, by `provider/model` or alias: what a call to it that sets no
   * max_tokens reserves and is capped at. A small budget (a persona's) then admits small calls.
   */
  output_tokens: z.record(z.string(), z.coerce.number().int().positive().max(1_000_000)).default({}),
  timeouts: timeouts.prefault({}),
  /** Retries after the first attempt, on network errors, 429 and 5xx (never after a streamed byte); full-jitter backoff. */
  retries: retryOptions(3, 250, 10_000, 10),
  /** Per endpoint: consecutive failures that open its breaker, and how long it refuses before one probe. */
  breaker: breakerOptions(5, 60_000),
  /** The `mock` provider's pacing and scripts (deterministic, no network). */
  mock: z
    .object({
      first_chunk_delay_ms: z.coerce.number().int().min(0).default(0),
      chunk_delay_ms: z.coerce.number().int().min(0).default(0),
      /** Words per streamed text chunk. */
      words_per_chunk: z.coerce.number().int().positive().default(3),
      /** Scripted replies by model name (`mock/<name>`), consumed in order, then the default behaviour. */
      scripts: z.record(z.string(), z.array(scriptedTurn)).default({}),
      /**
       * Milliseconds every call of `mock/<name>` waits before it answers (cut short when its run is
       * cancelled): a model that keeps tasks working, for protocol test suites that cancel, list or
       * follow a task in progress (docs/interop.md).
       */
      delays: z.record(z.string(), z.coerce.number().int().min(0).max(3_600_000)).default({}),
    })
    .strict()
    .prefault({}),
  /** How often buffered usage rows and unused budget leases are written to the store. */
  flush_ms: z.coerce.number().int().positive().default(250),
};
