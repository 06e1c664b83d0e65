import Anthropic from '@anthropic-ai/sdk';
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
  ToolCall,
  Usage,
} from '../types.ts';
import { STRUCTURED_TOOL, toParams, unsupported } from './anthropic-request.ts';
import { endpointFetch, fromSdkError, requestHeaders } from './http-client.ts';

export interface AnthropicProviderOptions {
  baseURL?: string;
  apiKey?: string;
  timeouts: ModelTimeouts;
  /** The Messages API requires max_tokens; used when the request sets none. */
  defaultMaxTokens: number;
}

/** Anthropic's Messages API, mapped to and from the OpenAI shapes (tool calls and usage included). */
export class AnthropicProvider implements Provider {
  readonly type = 'anthropic' as const;
  private readonly client: Anthropic;

  constructor(
    readonly name: string,
    private readonly options: AnthropicProviderOptions,
  ) {
    this.client = new Anthropic({
      baseURL: options.baseURL ?? 'https://api.anthropic.com',
      apiKey: options.apiKey ?? 'no-key',
      maxRetries: 0,
      timeout: options.timeouts.total_ms,
      fetch: endpointFetch(options.timeouts),
    });
  }

  unsupported(request: CompletionRequest): Unsupported | undefined {
    return unsupported(request);
  }

  async complete(call: ProviderCall): Promise<Completion> {
    const structured = call.request.response_format !== undefined;
    let res: Anthropic.Messages.Message;
    try {
      res = await this.client.messages.create(
        { ...toParams(call.request, this.options.defaultMaxTokens), stream: false },
        { signal: abortSignalOf(call.signal), headers: requestHeaders(call) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of res.content) {
      if (block.type === 'text') text += block.text;
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
      },
      finish_reason: finishReason(res.stop_reason, toolCalls.length),
      usage: usageOf(res.usage.input_tokens + cacheTokens(res.usage), res.usage.output_tokens),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    let events: AsyncIterable<RawMessageStreamEvent>;
    try {
      events = await this.client.messages.create(
        { ...toParams(call.request, this.options.defaultMaxTokens), stream: true },
        { signal: abortSignalOf(call.signal), headers: requestHeaders(call) },
      );
    } catch (err) {
      throw fromSdkError(err);
    }
    let input = 0;
    let output = 0;
    let stop: StopReason | null = null;
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
            input = event.message.usage.input_tokens + cacheTokens(event.message.usage);
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
            } else if (event.content_block.type === 'text' && event.content_block.text) {
              yield { type: 'text', delta: event.content_block.text };
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') yield { type: 'text', delta: event.delta.text };
            else if (event.delta.type === 'input_json_delta' && event.index === answerBlock) {
              if (event.delta.partial_json) yield { type: 'text', delta: event.delta.partial_json };
            } else if (event.delta.type === 'input_json_delta') {
              const index = toolIndex.get(event.index);
              if (index !== undefined)
                yield { type: 'tool_call', index, arguments_delta: event.delta.partial_json };
            }
            break;
          case 'message_delta':
            stop = event.delta.stop_reason ?? stop;
            output = event.usage.output_tokens ?? output;
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

/** Cached prompt tokens are prompt tokens too (OpenAI's prompt_tokens counts them). */
function cacheTokens(u: {
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}) {
  return (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
}

function usageOf(input: number, output: number): Usage {
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}
