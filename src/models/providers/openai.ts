import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ModelTimeouts } from '../../config/models-config.ts';
import {
  type EmbedCall,
  type Embeddings,
  type Provider,
  type ProviderCall,
  UpstreamError,
} from '../provider.ts';
import { estimatePromptTokens, estimateTokens } from '../tokens.ts';
import type {
  Completion,
  CompletionChunk,
  CompletionRequest,
  FinishReason,
  ToolCall,
  Usage,
} from '../types.ts';
import { endpointFetch, fromSdkError, requestHeaders } from './http-client.ts';

export interface OpenAIProviderOptions {
  baseURL?: string;
  apiKey?: string;
  timeouts: ModelTimeouts;
}

/** Any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio). */
export class OpenAIProvider implements Provider {
  readonly type = 'openai' as const;
  private readonly client: OpenAI;

  constructor(
    readonly name: string,
    options: OpenAIProviderOptions,
  ) {
    this.client = new OpenAI({
      baseURL: options.baseURL ?? 'https://api.openai.com/v1',
      // Local servers (Ollama, llama.cpp) take no key, but the SDK insists on one.
      apiKey: options.apiKey ?? 'no-key',
      maxRetries: 0,
      timeout: options.timeouts.total_ms,
      fetch: endpointFetch(options.timeouts),
    });
  }

  async embed(call: EmbedCall): Promise<Embeddings> {
    let res: OpenAI.Embeddings.CreateEmbeddingResponse;
    try {
      res = await this.client.embeddings.create(
        { model: call.model, input: call.input, encoding_format: 'float' },
        { signal: call.signal, headers: requestHeaders(call.requestId) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    if (res.data.length !== call.input.length)
      throw new UpstreamError(
        'http',
        `the upstream answered ${res.data.length} embeddings for ${call.input.length} inputs`,
        {
          status: 502,
        },
      );
    const data = [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    return {
      data,
      prompt_tokens: res.usage?.prompt_tokens ?? call.input.reduce((n, t) => n + estimateTokens(t), 0),
    };
  }

  async complete(call: ProviderCall): Promise<Completion> {
    let res: OpenAI.Chat.Completions.ChatCompletion;
    try {
      res = await this.client.chat.completions.create(
        { ...toParams(call.request), stream: false },
        { signal: call.signal, headers: requestHeaders(call.requestId) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    const choice = res.choices[0];
    if (!choice) throw new UpstreamError('http', 'the upstream answered with no choices', { status: 502 });
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
        ? {
            prompt_tokens: res.usage.prompt_tokens,
            completion_tokens: res.usage.completion_tokens,
            total_tokens: res.usage.total_tokens,
          }
        : estimateUsage(call.request, choice.message.content ?? ''),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    let stream: AsyncIterable<ChatCompletionChunk>;
    try {
      stream = await this.client.chat.completions.create(
        { ...toParams(call.request), stream: true, stream_options: { include_usage: true } },
        { signal: call.signal, headers: requestHeaders(call.requestId) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    let finish: FinishReason | undefined;
    let usage: Usage | undefined;
    let model = call.request.model;
    let text = '';
    try {
      for await (const chunk of stream) {
        model = chunk.model || model;
        if (chunk.usage) {
          usage = {
            prompt_tokens: chunk.usage.prompt_tokens,
            completion_tokens: chunk.usage.completion_tokens,
            total_tokens: chunk.usage.total_tokens,
          };
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          text += delta.content;
          yield { type: 'text', delta: delta.content };
        }
        for (const tc of delta?.tool_calls ?? []) {
          const args = tc.function?.arguments ?? '';
          text += args;
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
    } catch (err) {
      throw fromSdkError(err);
    }
    // A stream that stops without a finish_reason was cut: say so, never pretend it ended well.
    if (!finish) throw new UpstreamError('network', 'the upstream stream ended before a finish_reason');
    yield { type: 'finish', finish_reason: finish, usage: usage ?? estimateUsage(call.request, text), model };
  }
}

function toParams(r: CompletionRequest): ChatCompletionCreateParamsBase {
  return {
    model: r.model,
    messages: r.messages as ChatCompletionMessageParam[],
    ...(r.tools && r.tools.length > 0 && { tools: r.tools }),
    ...(r.tool_choice !== undefined && { tool_choice: r.tool_choice }),
    ...(r.max_tokens !== undefined && { max_tokens: r.max_tokens }),
    ...(r.temperature !== undefined && { temperature: r.temperature }),
    ...(r.top_p !== undefined && { top_p: r.top_p }),
    ...(r.stop !== undefined && { stop: r.stop }),
  };
}

function finishReason(value: string | null): FinishReason {
  if (value === 'length' || value === 'tool_calls' || value === 'content_filter') return value;
  // OpenAI's legacy `function_call` is a tool call in today's shapes.
  if (value === 'function_call') return 'tool_calls';
  return 'stop';
}

/** For endpoints that report no usage (some local servers): the gateway's own estimate. */
function estimateUsage(request: CompletionRequest, output: string): Usage {
  const prompt = estimatePromptTokens(request.messages, request.tools);
  const completion = estimateTokens(output);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
