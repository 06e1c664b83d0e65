import type { ScriptedTurn } from '../../config/models-config.ts';
import { newId } from '../../db/ids.ts';
import { AppError } from '../../errors.ts';
import { abortSignalOf, pause } from '../call-signal.ts';
import { OfflineEncoder } from '../offline-encoder/offline-encoder.ts';
import {
  type EmbedCall,
  type Embeddings,
  type Provider,
  type ProviderCall,
  type ProviderFactory,
  UpstreamError,
} from '../provider.ts';
import { firstUnhonoured, type Unsupported } from '../request-support.ts';
import { estimatePromptTokens, estimateTokens } from '../tokens.ts';
import type { Completion, CompletionChunk, CompletionRequest, FinishReason, ToolCall } from '../types.ts';
import { mockAnswer } from './mock-answer.ts';
import { hashedEmbedding } from './mock-embed.ts';
import { mockJson } from './mock-json.ts';
import { promptedObject } from './mock-prompted-json.ts';

/** The mock's model served by the offline encoder; every other mock model embeds by hashing. */
const OFFLINE_MODEL = 'universal-sentence-encoder';

/**
 * Extra fields the mock honours by what it is: deterministic (seed, sampling knobs), keeping no
 * record (user, metadata, store), one tool call at a time (parallel_tool_calls).
 */
const honoured = new Set([
  'seed',
  'user',
  'metadata',
  'store',
  'parallel_tool_calls',
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'service_tier',
  'stream_options',
  'verbosity',
  'prompt_cache_key',
  'safety_identifier',
]);

export interface MockOptions {
  first_chunk_delay_ms: number;
  chunk_delay_ms: number;
  words_per_chunk: number;
  /** Scripted turns by model name (the part after `mock/`). */
  scripts: Record<string, ScriptedTurn[]>;
  /** A wait before every answer, by model name. */
  delays?: Record<string, number>;
}

interface Plan {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** The stop sequence that cut the answer, if one did. */
  stopSequence?: string;
  promptTokens: number;
  completionTokens: number;
  delayMs: number;
}

/**
 * The default provider: no key, no network, deterministic (see mock-answer.ts for what it says).
 * Streams its answer a few words per chunk with configurable delays, and reports token usage from
 * the same estimate the gateway uses. Scripted mode: `script(model, turns)` (or `models.mock.scripts`
 * in config) queues exact replies, tool calls or errors for `mock/<model>`, consumed in order.
 */
export class MockProvider implements Provider {
  readonly type = 'mock' as const;
  private readonly scripts = new Map<string, ScriptedTurn[]>();
  private calls = 0;
  constructor(
    readonly name: string,
    private readonly options: MockOptions,
    private encoder?: OfflineEncoder,
  ) {
    for (const [model, turns] of Object.entries(options.scripts)) this.scripts.set(model, [...turns]);
  }

  /** Log probabilities and audio are what a mock cannot make up; any other unknown field too. */
  unsupported(request: CompletionRequest): Unsupported | undefined {
    // Reasoning settings are taken and ignored: the mock does not think.
    return firstUnhonoured(request, 'the mock provider', honoured, true);
  }

  /**
   * Deterministic embeddings (mock-embed.ts) honouring `dimensions`; `mock/universal-sentence-encoder`
   * is the offline encoder (512 dimensions, on its worker threads, loaded on first use).
   */
  async embed(call: EmbedCall): Promise<Embeddings> {
    const prompt_tokens = call.input.reduce((n, t) => n + estimateTokens(t), 0);
    if (call.model === OFFLINE_MODEL) {
      if (call.dimensions !== undefined && call.dimensions !== 512) {
        throw new UpstreamError('http', `${OFFLINE_MODEL} has 512 dimensions, not ${call.dimensions}`, {
          status: 400,
        });
      }
      this.encoder ??= new OfflineEncoder();
      const data = await this.encoder.embed(call.input, abortSignalOf(call.signal)).catch((err: unknown) => {
        // Past its deadline the encoder is overloaded or stuck: retrying the same inputs would not
        // help, and the breaker it would trip guards the mock's chat models too.
        if (err instanceof AppError && err.code === 'gateway_timeout')
          throw new UpstreamError('timeout', err.message, { cause: err, final: true });
        throw err;
      });
      return { data, prompt_tokens };
    }
    return { data: call.input.map((t) => hashedEmbedding(t, call.dimensions)), prompt_tokens };
  }

  /** Queues scripted turns for `mock/<model>`; each call consumes one, then the default behaviour resumes. */
  script(model: string, turns: ScriptedTurn[]): void {
    this.scripts.set(model, [...(this.scripts.get(model) ?? []), ...turns]);
  }

  /** Scripted turns not yet consumed for a model. */
  pending(model: string): number {
    return this.scripts.get(model)?.length ?? 0;
  }

  async complete(call: ProviderCall): Promise<Completion> {
    const plan = this.plan(call);
    await pause(plan.delayMs + this.options.first_chunk_delay_ms, call.signal).catch(rethrowAbort);
    return {
      id: `chatcmpl-${newId()}`,
      model: call.request.model,
      message: {
        role: 'assistant',
        content: plan.content,
        ...(plan.toolCalls.length > 0 && { tool_calls: plan.toolCalls }),
      },
      finish_reason: plan.finishReason,
      ...(plan.stopSequence !== undefined && { stop_sequence: plan.stopSequence }),
      usage: usageOf(plan),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    const plan = this.plan(call);
    const wait = (ms: number) => (ms > 0 ? pause(ms, call.signal).catch(rethrowAbort) : undefined);
    await wait(plan.delayMs + this.options.first_chunk_delay_ms);
    let first = true;
    const gap = async () => {
      if (!first) await wait(this.options.chunk_delay_ms);
      first = false;
    };
    if (plan.content) {
      const words = plan.content.match(/\S+\s*|\s+/g) ?? [];
      for (let i = 0; i < words.length; i += this.options.words_per_chunk) {
        await gap();
        yield { type: 'text', delta: words.slice(i, i + this.options.words_per_chunk).join('') };
      }
    }
    for (const [index, tc] of plan.toolCalls.entries()) {
      await gap();
      // Like OpenAI: the first fragment carries id and name, the arguments follow in pieces.
      yield { type: 'tool_call', index, id: tc.id, name: tc.function.name, arguments_delta: '' };
      const args = tc.function.arguments;
      const half = Math.ceil(args.length / 2);
      for (const piece of [args.slice(0, half), args.slice(half)]) {
        if (piece) yield { type: 'tool_call', index, arguments_delta: piece };
      }
    }
    yield {
      type: 'finish',
      finish_reason: plan.finishReason,
      ...(plan.stopSequence !== undefined && { stop_sequence: plan.stopSequence }),
      usage: usageOf(plan),
      model: call.request.model,
    };
  }

  private plan(call: ProviderCall): Plan {
    const { request } = call;
    if (call.signal.aborted) throw new UpstreamError('aborted', 'aborted', { cause: call.signal.reason });
    const promptTokens = estimatePromptTokens(request.messages, request.tools);
    const turn = this.scripts.get(request.model)?.shift();
    if (turn?.error) {
      throw new UpstreamError('http', turn.error.message, { status: turn.error.status });
    }
    let content: string | null;
    let toolCalls: ToolCall[];
    if (turn) {
      content = turn.content ?? null;
      toolCalls = (turn.tool_calls ?? []).map((c) => ({
        id: c.id ?? this.callId(),
        type: 'function' as const,
        function: {
          name: c.name,
          arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
        },
      }));
    } else {
      const answer = mockAnswer(request);
      content = answer.content;
      toolCalls = answer.toolCalls.map((c) => ({
        id: this.callId(),
        type: 'function' as const,
        function: c,
      }));
      // Structured output: JSON matching the schema, unless the answer is a tool call.
      const format = request.response_format;
      if (format && format.type !== 'text' && toolCalls.length === 0) {
        // JSON mode takes its shape from the prompt (mock-prompted-json.ts); a schema from the schema.
        const prompted =
          format.type === 'json_object' ? promptedObject(request.messages, content ?? '') : undefined;
        content = prompted ?? mockJson(format, content ?? '');
      }
    }
    let finishReason: FinishReason = turn?.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
    let stopSequence: string | undefined;
    if (content !== null && request.stop !== undefined) {
      const stops = Array.isArray(request.stop) ? request.stop : [request.stop];
      for (const s of stops) {
        const at = s ? content.indexOf(s) : -1;
        if (at >= 0) {
          content = content.slice(0, at);
          stopSequence = s;
        }
      }
    }
    let completionTokens =
      estimateTokens(content ?? '') +
      toolCalls.reduce(
        (n, c) => n + estimateTokens(c.function.name) + estimateTokens(c.function.arguments),
        0,
      );
    if (request.max_tokens !== undefined && completionTokens > request.max_tokens && content !== null) {
      content = content.slice(0, request.max_tokens * 4);
      completionTokens = estimateTokens(content);
      toolCalls = [];
      finishReason = 'length';
      stopSequence = undefined;
    }
    return {
      content,
      toolCalls,
      finishReason,
      ...(stopSequence !== undefined && finishReason === 'stop' && { stopSequence }),
      promptTokens,
      completionTokens,
      delayMs: turn?.delay_ms ?? this.options.delays?.[request.model] ?? 0,
    };
  }

  // Deterministic ids: the mock is reproducible call for call within one process.
  private callId(): string {
    this.calls += 1;
    return `call_mock_${String(this.calls).padStart(6, '0')}`;
  }
}

/** `type: mock` in `models.providers`: every endpoint of this type shares `models.mock`'s pacing and scripts. */
export const mock: ProviderFactory = (s) => new MockProvider(s.name, s.models.mock, s.offlineEncoder);

function usageOf(plan: Plan) {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
  };
}

function rethrowAbort(err: unknown): never {
  throw new UpstreamError('aborted', 'aborted', { cause: err });
}
