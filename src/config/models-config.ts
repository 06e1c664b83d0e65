import { z } from 'zod';
import { presetNames, providerPresets } from './provider-presets.ts';
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
export const providerTypes = ['mock', 'openai', 'azure', 'anthropic', 'bedrock', 'gemini', 'vertex'] as const;
export type ProviderType = (typeof providerTypes)[number];

/** Headers that frame the request are the client's own; any other name may be added. */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/)
  .refine((h) => !framingHeaders.has(h.toLowerCase()), 'this header frames the request and cannot be set');
const framingHeaders = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection']);

/** Azure's v1 API, as opposed to its deployments API: a base URL ending in `/openai/v1`. */
export const isAzureV1 = (baseUrl: string) => /\/openai\/v1\/?$/.test(new URL(baseUrl).pathname);

type ProviderFields = z.output<typeof providerFields>;

function checkProvider(p: ProviderFields, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (!p.type && !p.preset) issue('type', 'a provider needs a type or a preset');
  if (p.preset && p.type && p.type !== 'openai')
    issue('preset', `a preset is an OpenAI-compatible endpoint: type openai, not ${p.type}`);
  if (p.type === 'azure') {
    if (!p.base_url) issue('base_url', 'an azure provider needs its resource endpoint');
    else if (!isAzureV1(p.base_url) && !p.api_version)
      issue('api_version', 'the deployments API needs an api_version (or a base_url ending in /openai/v1)');
  } else if (p.api_version) issue('api_version', 'only an azure provider takes an api_version');
  // Fields of one type on another would be dropped without a word: refused instead, naming the owner.
  if (p.type !== 'bedrock') {
    if (p.region) issue('region', 'only a bedrock provider takes a region (vertex: location)');
    if (p.profile) issue('profile', 'only a bedrock provider takes an AWS profile');
  } else if (p.headers_env) issue('headers_env', 'a bedrock provider sends only what the AWS SDK signs');
  if (p.type !== 'vertex' && (p.project || p.location))
    issue(p.project ? 'project' : 'location', 'only a vertex provider takes a project and location');
}

/** A preset's type and key variable, and Azure's conventional key variable, filled in. */
function resolveProvider(p: ProviderFields) {
  const preset = p.preset ? (providerPresets[p.preset] as { api_key_env?: string }) : undefined;
  const type: ProviderType = p.type ?? 'openai';
  const api_key_env =
    p.api_key_env ?? preset?.api_key_env ?? (type === 'azure' ? 'AZURE_OPENAI_API_KEY' : undefined);
  return { ...p, type, ...(api_key_env && { api_key_env }) };
}

const providerFields = z
  .object({
    /** Which protocol the endpoint speaks; may be left out with a `preset` (always `openai`). */
    type: z.enum(providerTypes).optional(),
    /**
     * A named OpenAI-compatible endpoint whose base URL and key variable are the defaults
     * (`config/provider-presets.ts`): a local server (ollama, vllm, lmstudio, llamacpp) or a hosted
     * vendor (openrouter, groq, mistral, deepseek, together, fireworks).
     */
    preset: z.enum(presetNames).optional(),
    /** Endpoint base URL (OpenAI-compatible: include `/v1`). Omitted: the vendor's official one. */
    base_url: z.url().optional(),
    /** Name of the environment variable holding the API key (never the key itself). */
    api_key_env: z.string().optional(),
    /**
     * `type: azure`: the `api-version` query parameter. Required by the deployments API (a
     * `base_url` of the resource, `https://<resource>.openai.azure.com`); the v1 API (a `base_url`
     * ending in `/openai/v1`) needs none (`preview` for its preview features).
     */
    api_version: z
      .string()
      .regex(/^[A-Za-z0-9.-]+$/)
      .optional(),
    /**
     * Extra request headers, each from an environment variable: header name -> variable name
     * (`HTTP-Referer: OPENROUTER_REFERER`). A header whose variable is unset is not sent.
     */
    headers_env: z.record(headerName, z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).optional(),
    /** Overrides of `models.timeouts` for this endpoint. */
    timeouts: timeouts.partial().optional(),
    /** `vertex`: the Google Cloud project id (domain-scoped ones too) whose Vertex AI serves the models (required). */
    project: z
      .string()
      .regex(/^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,61}[a-z0-9]$/)
      .optional(),
    /** `vertex`: the region (`us-central1`, `europe-west4`) or `global`; default `global`. */
    location: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .optional(),
    /** `bedrock`: the AWS region (unset: AWS_REGION or the profile's); credentials come from AWS's chain. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)
      .optional(),
    /** `bedrock`: the AWS profile (~/.aws/config) for credentials and region (unset: AWS_PROFILE or default). */
    profile: z.string().min(1).optional(),
  })
  .strict();
const provider = providerFields.superRefine(checkProvider).transform(resolveProvider);
export type ProviderConfig = z.infer<typeof provider>;

const price = z
  .object({
    /** Currency units (USD by convention) per million prompt tokens. */
    input: z.number().min(0),
    /** Currency units per million completion tokens (reasoning tokens are completion tokens). */
    output: z.number().min(0),
    /** Per million prompt tokens read from the provider's cache (unset: the input price). */
    cache_read: z.number().min(0).optional(),
    /** Per million prompt tokens written to the provider's cache (unset: the input price). */
    cache_write: z.number().min(0).optional(),
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
   * `anthropic` point at the vendors with OPENAI_API_KEY / ANTHROPIC_API_KEY unless redefined here,
   * `gemini` at the Gemini API with GEMINI_API_KEY.
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
  /**
   * The offline encoder's worker threads (knowledge bases' `offline` embedder and
   * `mock/universal-sentence-encoder`), which keep encoding off the event loop.
   */
  offline_encoder: z
    .object({
      /** Threads at most, each holding its own copy of the model (~60 MB); unset: cores − 1, 1 to 2. */
      threads: z.coerce.number().int().min(1).max(64).optional(),
      /**
       * How long one job (up to 256 texts) may take, its wait for a thread included: past it the
       * call fails with 504 and a running job's thread is replaced.
       */
      deadline_ms: z.coerce.number().int().positive().default(60_000),
    })
    .strict()
    .prefault({}),
  /** How often buffered usage rows and unused budget leases are written to the store. */
  flush_ms: z.coerce.number().int().positive().default(250),
};
