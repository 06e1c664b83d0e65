import type Anthropic from '@anthropic-ai/sdk';
import type { RawMessageStreamEvent, StopReason } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { abortSignalOf } from '../call-signal.ts';
import { type Provider, type ProviderCall, type ProviderFactory, UpstreamError } from '../provider.ts';
import type { Unsupported } from '../request-support.ts';
import type {
  Completion,
  CompletionChunk,
  CompletionRequest,
  FinishReason,
  ThinkingBlock,
  ToolCall,
  Usage,
} from '../types.ts';
import { usageWithCache } from '../usage-details.ts';
import { STRUCTURED_TOOL, toParams, unsupported } from './anthropic-request.ts';
import { endpointFetch, fromSdkError, requestHeaders } from './http-client.ts';

export interface AnthropicProviderOptions {
  baseURL?: string;
  apiKey?: string;
  /** Extra headers of every call (`headers_env`). */
  headers?: Record<string, string>;
  timeouts: ModelTimeouts;
  /** The Messages API requires max_tokens; used when the request sets none. */
  defaultMaxTokens: number;
}

/** Anthropic's Messages API, mapped to and from the OpenAI shapes (tool calls and usage included). */
export class AnthropicProvider implements Provider {
  readonly type = 'anthropic' as const;
  private sdk?: Promise<Anthropic>;

  constructor(
    readonly name: string,
    private readonly options: AnthropicProviderOptions,
  ) {}

  /** The SDK is loaded by the first call: a gateway that never calls Anthropic does not pay for it. */
  private client(): Promise<Anthropic> {
    const o = this.options;
    this.sdk ??= import('@anthropic-ai/sdk').then(
      ({ default: Sdk }) =>
        new Sdk({
          baseURL: o.baseURL ?? 'https://api.anthropic.com',
          apiKey: o.apiKey ?? 'no-key',
          maxRetries: 0,
          timeout: o.timeouts.total_ms,
          fetch: endpointFetch(o.timeouts),
          ...(o.headers && { defaultHeaders: o.headers }),
        }),
    );
    return this.sdk;
  }

  unsupported(request: CompletionRequest): Unsupported | undefined {
    return unsupported(request);
  }

  async complete(call: ProviderCall): Promise<Completion> {
    const structured = call.request.response_format !== undefined;
    let res: Anthropic.Messages.Message;
    try {
      res = await (await this.client()).messages.create(
        { ...toParams(call.request, this.options.defaultMaxTokens), stream: false },
        { signal: abortSignalOf(call.signal), headers: requestHeaders(call) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    let text = '';
    const toolCalls: ToolCall[] = [];
    const thinking: ThinkingBlock[] = [];
    const keepThinking = call.request.thinking_blocks === true;
    for (const block of res.content) {
      if (block.type === 'text') text += block.text;
      else if (block.type === 'thinking' && keepThinking) {
        thinking.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
      } else if (block.type === 'redacted_thinking' && keepThinking) {
        thinking.push({ type: 'redacted_thinking', data: block.data });
      }
      // The structured-output tool's input is the answer itself (anthropic-request.ts).
      else if (block.type === 'tool_use' && structured && block.name === STRUCTURED_TOOL) {
        text = JSON.stringify(block.input ?? {});
      } else if (block.type === 'tool_use') {
        toolCalls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
      }
    }
    return {
      id: res.id,
      model: res.model,
      message: {
        role: 'assistant',
        content: text === '' && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
        ...(thinking.length > 0 && { thinking }),
      },
      finish_reason: finishReason(res.stop_reason, toolCalls.length),
      ...(res.stop_reason === 'stop_sequence' && res.stop_sequence && { stop_sequence: res.stop_sequence }),
      usage: usageOf(res.usage, res.usage.output_tokens),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    let events: AsyncIterable<RawMessageStreamEvent>;
    try {
      events = await (await this.client()).messages.create(
        { ...toParams(call.request, this.options.defaultMaxTokens), stream: true },
        { signal: abortSignalOf(call.signal), headers: requestHeaders(call) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    let input: AnthropicUsage = { input_tokens: 0 };
    let output = 0;
    const keepThinking = call.request.thinking_blocks === true;
    /** Thinking blocks by Anthropic's block index, numbered from 0 as the chunks number them. */
    const thinkingIndex = new Map<number, number>();
    let stop: StopReason | null = null;
    let stopSequence: string | null = null;
    let model = call.request.model;
    let stopped = false;
    // Anthropic numbers content blocks (text and tool_use together); OpenAI numbers tool calls only.
    const toolIndex = new Map<number, number>();
    /** The structured-output tool's block, whose input streams as the answer's text. */
    let answerBlock: number | undefined;
    try {
      for await (const event of events) {
        switch (event.type) {
          case 'message_start':
            model = event.message.model || model;
            input = event.message.usage;
            output = event.message.usage.output_tokens;
            break;
          case 'content_block_start':
            if (
              event.content_block.type === 'tool_use' &&
              call.request.response_format &&
              event.content_block.name === STRUCTURED_TOOL
            ) {
              answerBlock = event.index;
            } else if (event.content_block.type === 'tool_use') {
              const index = toolIndex.size;
              toolIndex.set(event.index, index);
              yield {
                type: 'tool_call',
                index,
                id: event.content_block.id,
                name: event.content_block.name,
                arguments_delta: '',
              };
            } else if (
              (event.content_block.type === 'thinking' || event.content_block.type === 'redacted_thinking') &&
              keepThinking
            ) {
              const block = thinkingIndex.size;
              thinkingIndex.set(event.index, block);
              const b = event.content_block;
              if (b.type === 'redacted_thinking') yield { type: 'thinking', block, data: b.data };
              else yield { type: 'thinking', block, thinking: b.thinking, signature: b.signature };
            } else if (event.content_block.type === 'text' && event.content_block.text) {
              yield { type: 'text', delta: event.content_block.text };
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') yield { type: 'text', delta: event.delta.text };
            else if (event.delta.type === 'thinking_delta' || event.delta.type === 'signature_delta') {
              const block = thinkingIndex.get(event.index);
              if (block === undefined) break;
              if (event.delta.type === 'thinking_delta') {
                yield { type: 'thinking', block, thinking: event.delta.thinking };
              } else yield { type: 'thinking', block, signature: event.delta.signature };
            } else if (event.delta.type === 'input_json_delta' && event.index === answerBlock) {
              if (event.delta.partial_json) yield { type: 'text', delta: event.delta.partial_json };
            } else if (event.delta.type === 'input_json_delta') {
              const index = toolIndex.get(event.index);
              if (index !== undefined)
                yield { type: 'tool_call', index, arguments_delta: event.delta.partial_json };
            }
            break;
          case 'message_delta':
            stop = event.delta.stop_reason ?? stop;
            stopSequence = event.delta.stop_sequence ?? stopSequence;
            output = event.usage.output_tokens ?? output;
            // The final counts of the prompt's cache reads and writes, when the delta has them.
            input = mergeUsage(input, event.usage);
            break;
          case 'message_stop':
            stopped = true;
            break;
        }
      }
    } catch (err) {
      throw fromSdkError(err);
    }
    if (!stopped) throw new UpstreamError('network', 'the upstream stream ended before message_stop');
    yield {
      type: 'finish',
      finish_reason: finishReason(stop, toolIndex.size),
      ...(stop === 'stop_sequence' && stopSequence && { stop_sequence: stopSequence }),
      usage: usageOf(input, output),
      model,
    };
  }
}

/** `type: anthropic` in `models.providers`. */
export const anthropic: ProviderFactory = (s) =>
  new AnthropicProvider(s.name, {
    baseURL: s.endpoint.base_url,
    apiKey: s.apiKey,
    headers: s.headers,
    timeouts: s.timeouts,
    defaultMaxTokens: s.models.default_max_tokens,
  });

/** `toolCalls`: the tool calls answered (a structured answer's tool call is not one). */
function finishReason(stop: StopReason | null, toolCalls: number): FinishReason {
  if (stop === 'max_tokens' || stop === 'model_context_window_exceeded') return 'length';
  if (stop === 'tool_use') return toolCalls > 0 ? 'tool_calls' : 'stop';
  if (stop === 'refusal') return 'content_filter';
  return 'stop';
}

interface AnthropicUsage {
  input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

function mergeUsage(a: AnthropicUsage, b: AnthropicUsage): AnthropicUsage {
  return {
    input_tokens: b.input_tokens ?? a.input_tokens,
    cache_read_input_tokens: b.cache_read_input_tokens ?? a.cache_read_input_tokens,
    cache_creation_input_tokens: b.cache_creation_input_tokens ?? a.cache_creation_input_tokens,
  };
}

/**
 * Anthropic's usage in OpenAI's shape: cache reads and writes are prompt tokens too (OpenAI's
 * prompt_tokens counts them), and kept apart in the details (`cached_tokens`, `cache_write_tokens`)
 * for pricing. Anthropic reports no thinking tokens apart: they are output tokens.
 */
function usageOf(u: AnthropicUsage, output: number): Usage {
  return usageWithCache({
    input: u.input_tokens ?? 0,
    read: u.cache_read_input_tokens ?? 0,
    write: u.cache_creation_input_tokens ?? 0,
    output,
  });
}
