import { randomBytes } from 'node:crypto';
import type { ModelTimeouts } from '../../config/models-config.ts';
import {
  type EmbedCall,
  type Embeddings,
  type Provider,
  type ProviderCall,
  type ProviderFactory,
  UpstreamError,
} from '../provider.ts';
import type { Unsupported } from '../request-support.ts';
import { estimatePromptTokens, estimateTokens, tokensForChars } from '../tokens.ts';
import type {
  CallerSignal,
  Completion,
  CompletionChunk,
  CompletionRequest,
  FinishReason,
  ToolCall,
  Usage,
} from '../types.ts';
import { type GeminiContent, toBody, toolCallId, unsupported } from './gemini-request.ts';
import { JsonEndpoint } from './json-endpoint.ts';

/**
 * Where a Gemini model is served and how a call is authorised: the Gemini API (an API key) or
 * Vertex AI (a project's models, an access token); `vertex.ts` makes the second.
 */
export interface GeminiRoute {
  type: 'gemini' | 'vertex';
  /** The API's base URL, version included. */
  baseURL: string;
  /** The path, under the base URL, of one model's method (`/models/gemini-2.5-flash:generateContent`). */
  modelPath(model: string, method: string): string;
  /** The headers that authorise one call. */
  headers(signal: CallerSignal): Promise<Record<string, string>>;
  /** The embeddings call of this API (`batchEmbedContents`, or Vertex's `predict`). */
  embeddings: 'batchEmbedContents' | 'predict';
}

interface GenerateContentResponse {
  candidates?: Array<{ content?: Partial<GeminiContent>; finishReason?: string }>;
  promptFeedback?: { blockReason?: string };
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  responseId?: string;
  /** A failure reported inside a stream. */
  error?: { message?: string; status?: string };
}

interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  cachedContentTokenCount?: number;
}

/**
 * Google's Gemini models through their own `generateContent` API (`gemini-request.ts` maps the
 * request), whole or streamed as Server-Sent Events (`streamGenerateContent?alt=sse`). Plain HTTP
 * through `JsonEndpoint` rather than the `@google/genai` SDK: the SDK calls the global fetch, which
 * would take the calls out of the endpoint's connection pool and its connect and first-byte
 * timeouts; and the mapping to and from OpenAI's shapes is the work either way.
 */
export class GeminiProvider implements Provider {
  readonly type: GeminiRoute['type'];
  private readonly endpoint: JsonEndpoint;

  constructor(
    readonly name: string,
    private readonly route: GeminiRoute,
    timeouts: ModelTimeouts,
    /** The endpoint's extra headers (`headers_env`), sent with every call. */
    extraHeaders?: Record<string, string>,
  ) {
    this.type = route.type;
    this.endpoint = new JsonEndpoint(route.baseURL, extraHeaders, timeouts);
  }

  unsupported(request: CompletionRequest): Unsupported | undefined {
    return unsupported(request);
  }

  async complete(call: ProviderCall): Promise<Completion> {
    const res = await this.endpoint.json<GenerateContentResponse>(
      this.path(call.request.model, 'generateContent'),
      toBody(call.request),
      call.signal,
      call,
      await this.route.headers(call.signal),
    );
    const candidate = res?.candidates?.[0];
    if (candidate?.finishReason === 'MALFORMED_FUNCTION_CALL') throw malformedCall();
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const part of candidate?.content?.parts ?? []) {
      if (part.functionCall) {
        toolCalls.push({
          id: toolCallId(part.functionCall.id, part.thoughtSignature),
          type: 'function',
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        });
      } else if (typeof part.text === 'string' && !part.thought) text += part.text;
    }
    return {
      id: res.responseId ?? `gemini-${randomBytes(8).toString('hex')}`,
      model: res.modelVersion ?? call.request.model,
      message: {
        role: 'assistant',
        content: text === '' && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
      },
      finish_reason: finishReason(candidate?.finishReason, res.promptFeedback, toolCalls.length),
      usage: usageOf(res.usageMetadata) ?? estimateUsage(call.request, text.length),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    const events = await this.endpoint.events(
      `${this.path(call.request.model, 'streamGenerateContent')}?alt=sse`,
      toBody(call.request),
      call.signal,
      call,
      await this.route.headers(call.signal),
    );
    let finish: string | undefined;
    let blocked: GenerateContentResponse['promptFeedback'];
    let usage: Usage | undefined;
    let model = call.request.model;
    let toolCalls = 0;
    let chars = 0;
    try {
      for (let batch = await events.next(); batch; batch = await events.next()) {
        for (const data of batch) {
          const chunk = parseChunk(data);
          model = chunk.modelVersion ?? model;
          usage = usageOf(chunk.usageMetadata) ?? usage;
          if (chunk.promptFeedback?.blockReason) blocked = chunk.promptFeedback;
          const candidate = chunk.candidates?.[0];
          // Gemini sends each function call whole, in one part: one chunk carries all its arguments.
          for (const part of candidate?.content?.parts ?? []) {
            if (part.functionCall) {
              const args = JSON.stringify(part.functionCall.args ?? {});
              chars += args.length;
              yield {
                type: 'tool_call',
                index: toolCalls++,
                id: toolCallId(part.functionCall.id, part.thoughtSignature),
                name: part.functionCall.name,
                arguments_delta: args,
              };
            } else if (typeof part.text === 'string' && part.text && !part.thought) {
              chars += part.text.length;
              yield { type: 'text', delta: part.text };
            }
          }
          finish = candidate?.finishReason ?? finish;
          if (finish === 'MALFORMED_FUNCTION_CALL') throw malformedCall();
        }
      }
    } finally {
      events.close();
    }
    // A stream that stops without a finish reason was cut: say so, never pretend it ended well.
    if (!finish && !blocked)
      throw new UpstreamError('network', 'the upstream stream ended before a finishReason');
    yield {
      type: 'finish',
      finish_reason: finishReason(finish, blocked, toolCalls),
      usage: usage ?? estimateUsage(call.request, chars),
      model,
    };
  }

  /** Gemini's text embeddings, a batch per call; neither API takes token ids. */
  async embed(call: EmbedCall): Promise<Embeddings> {
    if (call.tokens) {
      throw new UpstreamError('http', 'Gemini embedding models take text, not token ids', { status: 400 });
    }
    const path = this.path(call.model, this.route.embeddings);
    const headers = await this.route.headers(call.signal);
    const dims = call.dimensions;
    let data: Array<number[] | undefined>;
    let tokens: number | undefined;
    if (this.route.embeddings === 'batchEmbedContents') {
      const res = await this.endpoint.json<{ embeddings?: Array<{ values?: number[] }> }>(
        path,
        {
          requests: call.input.map((text) => ({
            model: `models/${call.model}`,
            content: { parts: [{ text }] },
            ...(dims !== undefined && { outputDimensionality: dims }),
          })),
        },
        call.signal,
        call,
        headers,
      );
      data = (res?.embeddings ?? []).map((e) => e.values);
    } else {
      type Prediction = { embeddings?: { values?: number[]; statistics?: { token_count?: number } } };
      const res = await this.endpoint.json<{ predictions?: Prediction[] }>(
        path,
        {
          instances: call.input.map((content) => ({ content })),
          ...(dims !== undefined && { parameters: { outputDimensionality: dims } }),
        },
        call.signal,
        call,
        headers,
      );
      data = (res?.predictions ?? []).map((p) => p.embeddings?.values);
      tokens = res?.predictions?.reduce((n, p) => n + (p.embeddings?.statistics?.token_count ?? 0), 0);
    }
    if (data.length !== call.input.length || data.some((v) => !Array.isArray(v))) {
      throw new UpstreamError(
        'http',
        `the upstream answered ${data.length} embeddings for ${call.input.length} inputs`,
        { status: 502 },
      );
    }
    return {
      data: data as number[][],
      // The Gemini API reports no token counts for embeddings: the gateway's estimate stands in.
      prompt_tokens: tokens || call.input.reduce((n, t) => n + estimateTokens(t), 0),
    };
  }

  /** A model's method; a model name that is not one plain path segment never reaches the URL. */
  private path(model: string, method: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) {
      throw new UpstreamError('http', `${JSON.stringify(model)} is not a Gemini model name`, { status: 400 });
    }
    return this.route.modelPath(model, method);
  }
}

/** `type: gemini` in `models.providers`: the Gemini API, its key sent as `x-goog-api-key`. */
export const gemini: ProviderFactory = (s) => {
  const headers: Record<string, string> = s.apiKey ? { 'x-goog-api-key': s.apiKey } : {};
  return new GeminiProvider(
    s.name,
    {
      type: 'gemini',
      baseURL: s.endpoint.base_url ?? 'https://generativelanguage.googleapis.com/v1beta',
      modelPath: (model, method) => `/models/${model}:${method}`,
      headers: async () => headers,
      embeddings: 'batchEmbedContents',
    },
    s.timeouts,
    s.headers,
  );
};

/** One `data:` payload of the stream; an `{"error": …}` payload is the upstream failing mid-way. */
function parseChunk(data: string): GenerateContentResponse {
  let chunk: GenerateContentResponse;
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new UpstreamError('network', `the upstream sent a chunk that is not JSON: ${data.slice(0, 100)}`);
  }
  if (chunk?.error) {
    throw new UpstreamError(
      'network',
      `the upstream sent an error: ${chunk.error.message ?? 'unknown error'}`,
    );
  }
  return chunk ?? {};
}

/**
 * Gemini wrote a function call it could not parse and answered nothing else: OpenAI's shape has no
 * such ending, and an empty answer would pass for one. A 502, which the gateway retries as any 5xx
 * (the model samples again), never after a byte was streamed.
 */
function malformedCall(): UpstreamError {
  return new UpstreamError('http', 'the model wrote a malformed function call (MALFORMED_FUNCTION_CALL)', {
    status: 502,
  });
}

/** Why Gemini stopped: safety and recitation blocks are OpenAI's `content_filter`. */
const filtered = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

function finishReason(
  reason: string | undefined,
  feedback: GenerateContentResponse['promptFeedback'],
  toolCalls: number,
): FinishReason {
  // A prompt Gemini refused has no candidate, only the reason it was blocked.
  if (!reason && feedback?.blockReason) return 'content_filter';
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason && filtered.has(reason)) return 'content_filter';
  return toolCalls > 0 ? 'tool_calls' : 'stop';
}

/**
 * Gemini's token counts in OpenAI's terms: tokens of tool use results count as prompt tokens,
 * thinking tokens as completion tokens (they are billed as output), each also in the details.
 */
function usageOf(u: UsageMetadata | undefined): Usage | undefined {
  if (!u || u.promptTokenCount === undefined) return undefined;
  const prompt = u.promptTokenCount + (u.toolUsePromptTokenCount ?? 0);
  const completion = (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: u.totalTokenCount ?? prompt + completion,
    ...(u.cachedContentTokenCount && { prompt_tokens_details: { cached_tokens: u.cachedContentTokenCount } }),
    ...(u.thoughtsTokenCount && { completion_tokens_details: { reasoning_tokens: u.thoughtsTokenCount } }),
  };
}

/** For an answer with no usage (a cut or blocked one): the gateway's own estimate. */
function estimateUsage(request: CompletionRequest, outputChars: number): Usage {
  const prompt = estimatePromptTokens(request.messages, request.tools);
  const completion = tokensForChars(outputChars);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
