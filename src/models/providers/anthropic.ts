import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent,
  StopReason,
  Tool,
  ToolChoice,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { ModelTimeouts } from '../../config/models-config.ts';
import { abortSignalOf } from '../call-signal.ts';
import { type Provider, type ProviderCall, UpstreamError } from '../provider.ts';
import type {
  Completion,
  CompletionChunk,
  CompletionRequest,
  FinishReason,
  ToolCall,
  Usage,
} from '../types.ts';
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

  async complete(call: ProviderCall): Promise<Completion> {
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
      else if (block.type === 'tool_use') {
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
      finish_reason: finishReason(res.stop_reason),
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
    try {
      for await (const event of events) {
        switch (event.type) {
          case 'message_start':
            model = event.message.model || model;
            input = event.message.usage.input_tokens + cacheTokens(event.message.usage);
            output = event.message.usage.output_tokens;
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
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
            else if (event.delta.type === 'input_json_delta') {
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
    yield { type: 'finish', finish_reason: finishReason(stop), usage: usageOf(input, output), model };
  }
}

function toParams(r: CompletionRequest, defaultMaxTokens: number): MessageCreateParamsBase {
  const system = r.messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content ?? '')
    .join('\n\n');
  const messages: MessageParam[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    // The Messages API wants user and assistant turns to alternate: merge neighbours of one role.
    const last = messages.at(-1);
    if (last && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of r.messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: m.content ?? '' }]);
    } else if (m.role === 'assistant') {
      const blocks: ContentBlockParam[] = m.content ? [{ type: 'text', text: m.content }] : [];
      for (const c of m.tool_calls ?? []) {
        blocks.push({
          type: 'tool_use',
          id: c.id,
          name: c.function.name,
          input: parseArgs(c.function.arguments),
        });
      }
      push('assistant', blocks);
    } else {
      push('user', [{ type: 'text', text: m.content ?? '' }]);
    }
  }
  const tools: Tool[] | undefined = r.tools?.map((t) => ({
    name: t.function.name,
    ...(t.function.description && { description: t.function.description }),
    input_schema: (t.function.parameters ?? { type: 'object', properties: {} }) as Tool['input_schema'],
  }));
  return {
    model: r.model,
    max_tokens: r.max_tokens ?? defaultMaxTokens,
    messages,
    ...(system && { system }),
    ...(tools && tools.length > 0 && { tools }),
    ...(r.tool_choice !== undefined &&
      tools &&
      tools.length > 0 && { tool_choice: toolChoice(r.tool_choice) }),
    ...(r.temperature !== undefined && { temperature: r.temperature }),
    ...(r.top_p !== undefined && { top_p: r.top_p }),
    ...(r.stop !== undefined && { stop_sequences: Array.isArray(r.stop) ? r.stop : [r.stop] }),
  };
}

function toolChoice(choice: NonNullable<CompletionRequest['tool_choice']>): ToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name };
}

function parseArgs(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function finishReason(stop: StopReason | null): FinishReason {
  if (stop === 'max_tokens' || stop === 'model_context_window_exceeded') return 'length';
  if (stop === 'tool_use') return 'tool_calls';
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
