import type OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ReasoningEffort, ResponseFormatJSONSchema } from 'openai/resources/shared';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { providerPresets } from '../../config/provider-presets.ts';
import {
  type EmbedCall,
  type Embeddings,
  type Provider,
  type ProviderCall,
  type ProviderFactory,
  UpstreamError,
} from '../provider.ts';
import { effortOf } from '../reasoning.ts';
import type { Unsupported } from '../request-support.ts';
import { estimatePromptTokens, estimateTokens, tokensForChars } from '../tokens.ts';
import type {
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionExtras,
  CompletionRequest,
  FinishReason,
  ToolCall,
  Usage,
} from '../types.ts';
import { JsonEndpoint } from './json-endpoint.ts';

export interface OpenAIProviderOptions {
  baseURL?: string;
  apiKey?: string;
  /** Extra headers of every call (`headers_env`). */
  headers?: Record<string, string>;
  timeouts: ModelTimeouts;
  /** How the endpoint is reached where it differs from OpenAI's (Azure: `azure.ts`). */
  wire?: OpenAIWire;
}

/** Where an OpenAI-compatible API differs from OpenAI's own: its auth header and its paths. */
export interface OpenAIWire {
  type: 'azure';
  /** The header that carries the key as it is (OpenAI's: `Authorization: Bearer <key>`). */
  keyHeader: string;
  /**
   * An operation's path for a model, after the base URL (OpenAI's: `/chat/completions`); throws an
   * UpstreamError (400) for a model name the path cannot carry, before any call.
   */
  path(operation: 'chat/completions' | 'embeddings', model: string): string;
}

/**
 * Any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).
 *
 * The gateway serves this very protocol, so there is nothing to map: requests, answers and chunks
 * are the `openai` package's types, passed through. The calls go out over undici with SSE decoded
 * by eventsource-parser rather than through the `openai` client: on the gateway's hot path the
 * client's per-call work (building and iterating its header sets, formatting request details for
 * a debug log that is off, its own AbortController and timer, its async-generator SSE decoder) was
 * about a seventh of the gateway's CPU per call and a quarter of its allocations (bench/gateway.ts
 * profile), for a POST with a JSON body. The Anthropic provider keeps its SDK: there the mapping of
 * the Messages API is the protocol work an SDK saves.
 */
export class OpenAIProvider implements Provider {
  readonly type: 'openai' | 'azure';
  private readonly endpoint: JsonEndpoint;
  private readonly wire: OpenAIWire | undefined;

  constructor(
    readonly name: string,
    options: OpenAIProviderOptions,
  ) {
    this.wire = options.wire;
    this.type = options.wire?.type ?? 'openai';
    // Local servers (Ollama, llama.cpp) take no key.
    const key = options.apiKey
      ? options.wire
        ? { [options.wire.keyHeader]: options.apiKey }
        : { authorization: `Bearer ${options.apiKey}` }
      : {};
    this.endpoint = new JsonEndpoint(
      options.baseURL ?? 'https://api.openai.com/v1',
      { ...options.headers, ...key },
      options.timeouts,
    );
  }

  private path(operation: 'chat/completions' | 'embeddings', model: string): string {
    return this.wire ? this.wire.path(operation, model) : `/${operation}`;
  }

  /**
   * A PDF by URL (a Messages door `document` with a url source) has no Chat Completions shape: file
   * parts carry data or a file id. Refused here, before the upstream would answer it with a 400.
   */
  unsupported(request: CompletionRequest): Unsupported | undefined {
    for (const [i, m] of request.messages.entries()) {
      for (const [j, part] of (m.parts ?? []).entries()) {
        if (part.type === 'file' && typeof (part.file as { file_url?: unknown })?.file_url === 'string') {
          return {
            param: `messages[${i}].content[${j}]`,
            reason: 'OpenAI-compatible models take documents as base64 data, not by URL',
          };
        }
      }
    }
    return undefined;
  }

  async embed(call: EmbedCall): Promise<Embeddings> {
    const res = await this.endpoint.json<OpenAI.Embeddings.CreateEmbeddingResponse>(
      this.path('embeddings', call.model),
      {
        ...call.extra,
        model: call.model,
        input: call.tokens ?? call.input,
        encoding_format: 'float',
        ...(call.dimensions !== undefined && { dimensions: call.dimensions }),
      },
      call.signal,
      call,
    );
    if (!Array.isArray(res?.data) || res.data.length !== call.input.length)
      throw new UpstreamError(
        'http',
        `the upstream answered ${res?.data?.length ?? 0} embeddings for ${call.input.length} inputs`,
        { status: 502 },
      );
    const data = [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    return {
      data,
      prompt_tokens: res.usage?.prompt_tokens ?? call.input.reduce((n, t) => n + estimateTokens(t), 0),
    };
  }

  async complete(call: ProviderCall): Promise<Completion> {
    const res = await this.endpoint.json<OpenAI.Chat.Completions.ChatCompletion>(
      this.path('chat/completions', call.request.model),
      toParams(call.request, false),
      call.signal,
      call,
    );
    const choice = res?.choices?.[0];
    if (!choice?.message)
      throw new UpstreamError('http', 'the upstream answered with no choices', { status: 502 });
    const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((c) =>
      c.type === 'function'
        ? [
            {
              id: c.id,
              type: 'function' as const,
              function: { name: c.function.name, arguments: c.function.arguments },
            },
          ]
        : [],
    );
    const extras = extrasOf(res);
    return {
      id: res.id,
      model: res.model,
      message: {
        role: 'assistant',
        content: choice.message.content ?? null,
        ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
      },
      finish_reason: finishReason(choice.finish_reason),
      usage: res.usage
        ? usageFrom(res.usage)
        : estimateUsage(call.request, choice.message.content?.length ?? 0),
      ...(extras && { extras }),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    const events = await this.endpoint.events(
      this.path('chat/completions', call.request.model),
      toParams(call.request, true),
      call.signal,
      call,
    );
    let finish: FinishReason | undefined;
    let usage: Usage | undefined;
    let model = call.request.model;
    /** Characters streamed, for the estimate when the upstream reports no usage. */
    let chars = 0;
    const extras: CompletionExtras = {};
    try {
      for (let batch = await events.next(); batch; batch = await events.next()) {
        for (const data of batch) {
          // Read on to the end of the body after it: a response left unread closes its connection.
          if (data === '[DONE]') continue;
          const chunk = parseChunk(data);
          model = chunk.model || model;
          if (chunk.usage) usage = usageFrom(chunk.usage);
          if (chunk.system_fingerprint) extras.system_fingerprint = chunk.system_fingerprint;
          if (chunk.service_tier) extras.service_tier = chunk.service_tier;
          const choice = chunk.choices?.[0];
          if (!choice) continue;
          const delta = choice.delta;
          if (delta?.content) {
            chars += delta.content.length;
            yield {
              type: 'text',
              delta: delta.content,
              ...(choice.logprobs && { logprobs: choice.logprobs }),
            };
          }
          for (const tc of delta?.tool_calls ?? []) {
            const args = tc.function?.arguments ?? '';
            chars += args.length;
            yield {
              type: 'tool_call',
              index: tc.index,
              ...(tc.id && { id: tc.id }),
              ...(tc.function?.name && { name: tc.function.name }),
              arguments_delta: args,
            };
          }
          if (choice.finish_reason) finish = finishReason(choice.finish_reason);
        }
      }
    } finally {
      events.close();
    }
    // A stream that stops without a finish_reason was cut: say so, never pretend it ended well.
    if (!finish) throw new UpstreamError('network', 'the upstream stream ended before a finish_reason');
    yield {
      type: 'finish',
      finish_reason: finish,
      usage: usage ?? estimateUsage(call.request, chars),
      model,
      ...(Object.keys(extras).length > 0 && { extras }),
    };
  }
}

/** `type: openai` (or a `preset`, whose base URL is the default) in `models.providers`. */
export const openai: ProviderFactory = (s) =>
  new OpenAIProvider(s.name, {
    baseURL: s.endpoint.base_url ?? (s.endpoint.preset && providerPresets[s.endpoint.preset].base_url),
    apiKey: s.apiKey,
    headers: s.headers,
    timeouts: s.timeouts,
  });

/** One `data:` payload of the stream; an `{"error": …}` payload is the upstream failing mid-way. */
function parseChunk(data: string): ChatCompletionChunk {
  let chunk: ChatCompletionChunk & { error?: { message?: string } | string };
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new UpstreamError('network', `the upstream sent a chunk that is not JSON: ${data.slice(0, 100)}`);
  }
  if (chunk?.error) {
    const message = typeof chunk.error === 'string' ? chunk.error : chunk.error.message;
    throw new UpstreamError('network', `the upstream sent an error: ${message ?? 'unknown error'}`);
  }
  return chunk;
}

/**
 * The request as the upstream should see it: the caller's own messages and every field it sent
 * (seed, user, logprobs, …) unchanged; the gateway's fields (model, token limit) on top.
 */
function toParams(r: CompletionRequest, stream: boolean): ChatCompletionCreateParamsBase {
  return {
    ...r.extra,
    model: r.model,
    ...(stream && {
      stream: true,
      stream_options: { ...(r.extra?.stream_options as object | undefined), include_usage: true },
    }),
    messages: (r.wire_messages ?? r.messages.map(toWireMessage)) as ChatCompletionMessageParam[],
    ...(r.tools && r.tools.length > 0 && { tools: r.tools }),
    ...(r.tool_choice !== undefined && { tool_choice: r.tool_choice }),
    ...(r.max_tokens !== undefined && { [r.max_tokens_field ?? 'max_tokens']: r.max_tokens }),
    ...(r.temperature !== undefined && { temperature: r.temperature }),
    ...(r.top_p !== undefined && { top_p: r.top_p }),
    ...(r.stop !== undefined && { stop: r.stop }),
    ...(r.response_format && { response_format: r.response_format as ResponseFormatJSONSchema }),
    ...(reasoningEffort(r) && { reasoning_effort: reasoningEffort(r) as ReasoningEffort }),
  };
}

/**
 * The request's effort, or one for its thinking budget (Anthropic's, from the Messages door). A
 * summary has no Chat Completions field: it is not sent.
 */
function reasoningEffort(r: CompletionRequest): string | undefined {
  const { effort, budget_tokens: budget } = r.reasoning ?? {};
  if (effort) return effort;
  if (budget === undefined) return undefined;
  return effortOf(budget);
}

/** A gateway message in OpenAI's shape: its parts, when it has them, are its content. */
function toWireMessage(m: ChatMessage): unknown {
  if (!m.parts) return m;
  const { parts, ...rest } = m;
  return { ...rest, content: parts };
}

/** What the upstream said beyond text and tool calls, kept for the caller. */
function extrasOf(res: OpenAI.Chat.Completions.ChatCompletion): CompletionExtras | undefined {
  const choice = res.choices[0]!;
  const { role: _r, content: _c, tool_calls: _t, refusal, function_call: _f, ...message } = choice.message;
  const extras: CompletionExtras = {
    ...(choice.logprobs != null && { logprobs: choice.logprobs }),
    ...(refusal != null && { refusal }),
    ...(res.system_fingerprint != null && { system_fingerprint: res.system_fingerprint }),
    ...(res.service_tier !== undefined && { service_tier: res.service_tier }),
    ...(Object.keys(message).length > 0 && { message }),
  };
  return Object.keys(extras).length > 0 ? extras : undefined;
}

/** The upstream's usage, its details included as it sent them. */
function usageFrom(u: OpenAI.CompletionUsage): Usage {
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.total_tokens,
    ...(u.prompt_tokens_details && { prompt_tokens_details: { ...u.prompt_tokens_details } }),
    ...(u.completion_tokens_details && { completion_tokens_details: { ...u.completion_tokens_details } }),
  };
}

function finishReason(value: string | null): FinishReason {
  if (value === 'length' || value === 'tool_calls' || value === 'content_filter') return value;
  // OpenAI's legacy `function_call` is a tool call in today's shapes.
  if (value === 'function_call') return 'tool_calls';
  return 'stop';
}

/** For endpoints that report no usage (some local servers): the gateway's own estimate. */
function estimateUsage(request: CompletionRequest, outputChars: number): Usage {
  const prompt = estimatePromptTokens(request.messages, request.tools);
  const completion = tokensForChars(outputChars);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
