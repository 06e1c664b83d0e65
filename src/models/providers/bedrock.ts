import type {
  ContentBlock,
  ConverseCommandOutput,
  ConverseStreamOutput,
  StopReason,
  TokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type { ModelTimeouts } from '../../config/models-config.ts';
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
import { usageWithCache } from '../usage-details.ts';
import type { BedrockClient } from './bedrock-client.ts';
import { fromAwsError } from './bedrock-errors.ts';
import { toConverse, unsupported } from './bedrock-request.ts';

export interface BedrockProviderOptions {
  /** Unset: AWS_REGION, or the profile's region. */
  region?: string;
  /** An endpoint in place of `https://bedrock-runtime.<region>.amazonaws.com` (a VPC endpoint, a fake). */
  endpoint?: string;
  /** The AWS profile for credentials and region; unset: AWS_PROFILE or `default`. */
  profile?: string;
  timeouts: ModelTimeouts;
  /** Sent as maxTokens when the request sets none (the gateway reserved that much). */
  defaultMaxTokens: number;
}

/**
 * AWS Bedrock's Converse and ConverseStream APIs, mapped to and from the OpenAI shapes (tools and
 * usage included). The AWS SDK signs each request (SigV4) with credentials from AWS's standard
 * chain: environment, profile files, SSO, web identity, the container's or the instance's role.
 */
export class BedrockProvider implements Provider {
  readonly type = 'bedrock' as const;
  /** The SDK's client, made on the first call (the SDK is loaded then). */
  private client?: Promise<BedrockClient>;

  constructor(
    readonly name: string,
    private readonly options: BedrockProviderOptions,
  ) {}

  private sdk(): Promise<BedrockClient> {
    this.client ??= import('./bedrock-client.ts').then((m) => m.bedrockClient(this.options));
    return this.client;
  }

  unsupported(request: CompletionRequest): Unsupported | undefined {
    return unsupported(request);
  }

  async complete(call: ProviderCall): Promise<Completion> {
    let res: ConverseCommandOutput;
    try {
      const client = await this.sdk();
      res = await client.converse(toConverse(call.request, this.options.defaultMaxTokens), call);
    } catch (err) {
      throw fromAwsError(err);
    }
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of res.output?.message?.content ?? ([] as ContentBlock[])) {
      if (block.text !== undefined) text += block.text;
      else if (block.toolUse) {
        toolCalls.push({
          id: block.toolUse.toolUseId ?? '',
          type: 'function',
          function: { name: block.toolUse.name ?? '', arguments: JSON.stringify(block.toolUse.input ?? {}) },
        });
      }
    }
    return {
      id: `bedrock-${res.$metadata.requestId ?? crypto.randomUUID()}`,
      model: call.request.model,
      message: {
        role: 'assistant',
        content: text === '' && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
      },
      finish_reason: finishReason(res.stopReason, toolCalls.length),
      usage: usageOf(res.usage),
    };
  }

  async *stream(call: ProviderCall): AsyncIterable<CompletionChunk> {
    let events: AsyncIterable<ConverseStreamOutput>;
    try {
      const client = await this.sdk();
      events = await client.converseStream(toConverse(call.request, this.options.defaultMaxTokens), call);
    } catch (err) {
      throw fromAwsError(err);
    }
    let stop: StopReason | undefined;
    let usage: TokenUsage | undefined;
    let stopped = false;
    // Converse numbers content blocks (text and toolUse together); OpenAI numbers tool calls only.
    const toolIndex = new Map<number, number>();
    try {
      for await (const event of events) {
        if (event.contentBlockDelta) {
          const { delta, contentBlockIndex } = event.contentBlockDelta;
          if (delta?.text) yield { type: 'text', delta: delta.text };
          else if (delta?.toolUse?.input) {
            const index = toolIndex.get(contentBlockIndex ?? -1);
            if (index !== undefined) yield { type: 'tool_call', index, arguments_delta: delta.toolUse.input };
          }
        } else if (event.contentBlockStart?.start?.toolUse) {
          const { toolUseId, name } = event.contentBlockStart.start.toolUse;
          const index = toolIndex.size;
          toolIndex.set(event.contentBlockStart.contentBlockIndex ?? -1, index);
          yield { type: 'tool_call', index, id: toolUseId, name, arguments_delta: '' };
        } else if (event.messageStop) {
          stop = event.messageStop.stopReason;
          stopped = true;
        } else if (event.metadata) {
          // The last event: usage comes after messageStop.
          usage = event.metadata.usage;
        }
      }
    } catch (err) {
      throw fromAwsError(err);
    }
    if (!stopped) throw new UpstreamError('network', 'the upstream stream ended before messageStop');
    yield {
      type: 'finish',
      finish_reason: finishReason(stop, toolIndex.size),
      usage: usageOf(usage),
      model: call.request.model,
    };
  }
}

/** `type: bedrock` in `models.providers`. */
export const bedrock: ProviderFactory = (s) =>
  new BedrockProvider(s.name, {
    region: s.endpoint.region,
    endpoint: s.endpoint.base_url,
    profile: s.endpoint.profile,
    timeouts: s.timeouts,
    defaultMaxTokens: s.models.default_max_tokens,
  });

function finishReason(stop: StopReason | string | undefined, toolCalls: number): FinishReason {
  if (stop === 'max_tokens' || stop === 'model_context_window_exceeded') return 'length';
  if (stop === 'tool_use') return toolCalls > 0 ? 'tool_calls' : 'stop';
  if (stop === 'content_filtered' || stop === 'guardrail_intervened') return 'content_filter';
  return 'stop';
}

/** Bedrock's input tokens leave out cache reads and writes: `usageWithCache` adds them back. */
function usageOf(u: TokenUsage | undefined): Usage {
  return usageWithCache({
    input: u?.inputTokens ?? 0,
    read: u?.cacheReadInputTokens ?? 0,
    write: u?.cacheWriteInputTokens ?? 0,
    output: u?.outputTokens ?? 0,
  });
}
