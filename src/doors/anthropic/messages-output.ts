import { newId } from '../../db/ids.ts';
import type { Completion, CompletionChunk, FinishReason, Usage } from '../../models/types.ts';
import { tokenDetails } from '../../models/usage-details.ts';

/**
 * Anthropic's answers: the Message object, and its stream (`message_start`, `content_block_start`,
 * `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`), rendered from the
 * gateway's completion or chunks.
 */

export const messageId = () => `msg_${newId().replaceAll('-', '')}`;

/** A stop sequence the provider says matched is Anthropic's `stop_sequence` with the string. */
const stopOf = (c: { finish_reason: FinishReason; stop_sequence?: string }) =>
  c.finish_reason === 'stop' && c.stop_sequence !== undefined
    ? { stop_reason: 'stop_sequence', stop_sequence: c.stop_sequence }
    : { stop_reason: stopReason(c.finish_reason), stop_sequence: null };

const stopReason = (f: FinishReason) =>
  f === 'length'
    ? 'max_tokens'
    : f === 'tool_calls'
      ? 'tool_use'
      : f === 'content_filter'
        ? 'refusal'
        : 'end_turn';

/** Anthropic's input_tokens leave out the prompt tokens read from or written to its cache. */
function usageOf(u: Usage | Pick<Usage, 'prompt_tokens' | 'completion_tokens'>) {
  const d = 'total_tokens' in u ? tokenDetails(u) : { cachedInput: 0, cacheWrite: 0 };
  const read = Math.min(d.cachedInput, u.prompt_tokens);
  const write = Math.min(d.cacheWrite, u.prompt_tokens - read);
  return {
    input_tokens: u.prompt_tokens - read - write,
    output_tokens: u.completion_tokens,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  };
}

function parseInput(args: string): unknown {
  try {
    return JSON.parse(args || '{}');
  } catch {
    return {};
  }
}

export function messageOf(id: string, c: Completion) {
  // Thinking blocks first, as Anthropic sends them (signature included: the next turn sends it back).
  const content: Array<Record<string, unknown>> = [...(c.message.thinking ?? [])];
  if (c.message.content) content.push({ type: 'text', text: c.message.content });
  for (const call of c.message.tool_calls ?? []) {
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: parseInput(call.function.arguments),
    });
  }
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: c.model,
    content,
    ...stopOf(c),
    usage: usageOf(c.usage),
  };
}

/**
 * Renders the gateway's chunks as Anthropic's event stream. A text run is one text block, each tool
 * call one tool_use block (its arguments as `input_json_delta`); a block stops when the next starts.
 */
export class MessageEvents {
  private index = -1;
  private open?: { kind: 'text' } | { kind: 'tool'; toolIndex: number } | { kind: 'thinking'; block: number };

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  /** `message_start`, with the prompt's estimated tokens (`message_delta` carries the counted ones). */
  start(inputTokens: number): string {
    return frame('message_start', {
      message: {
        id: this.id,
        type: 'message',
        role: 'assistant',
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageOf({ prompt_tokens: inputTokens, completion_tokens: 0 }),
      },
    });
  }

  render(chunk: CompletionChunk): string[] {
    const out: string[] = [];
    if (chunk.type === 'text') {
      if (this.open?.kind !== 'text') {
        out.push(...this.stop(), this.begin({ type: 'text', text: '' }));
        this.open = { kind: 'text' };
      }
      out.push(
        frame('content_block_delta', { index: this.index, delta: { type: 'text_delta', text: chunk.delta } }),
      );
      return out;
    }
    if (chunk.type === 'thinking') return this.thinking(chunk);
    if (chunk.type === 'tool_call') {
      if (this.open?.kind !== 'tool' || this.open.toolIndex !== chunk.index) {
        out.push(
          ...this.stop(),
          this.begin({
            type: 'tool_use',
            id: chunk.id ?? `toolu_${newId()}`,
            name: chunk.name ?? '',
            input: {},
          }),
        );
        this.open = { kind: 'tool', toolIndex: chunk.index };
      }
      if (chunk.arguments_delta) {
        out.push(
          frame('content_block_delta', {
            index: this.index,
            delta: { type: 'input_json_delta', partial_json: chunk.arguments_delta },
          }),
        );
      }
      return out;
    }
    out.push(
      ...this.stop(),
      frame('message_delta', {
        delta: stopOf(chunk),
        usage: usageOf(chunk.usage),
      }),
      frame('message_stop', {}),
    );
    return out;
  }

  /** A thinking block: its text and signature as deltas; a redacted one whole, in its start. */
  private thinking(chunk: Extract<CompletionChunk, { type: 'thinking' }>): string[] {
    const out: string[] = [];
    if (this.open?.kind !== 'thinking' || this.open.block !== chunk.block) {
      out.push(
        ...this.stop(),
        this.begin(
          chunk.data !== undefined
            ? { type: 'redacted_thinking', data: chunk.data }
            : { type: 'thinking', thinking: '', signature: '' },
        ),
      );
      this.open = { kind: 'thinking', block: chunk.block };
    }
    const delta = (d: Record<string, unknown>) =>
      frame('content_block_delta', { index: this.index, delta: d });
    if (chunk.thinking) out.push(delta({ type: 'thinking_delta', thinking: chunk.thinking }));
    if (chunk.signature) out.push(delta({ type: 'signature_delta', signature: chunk.signature }));
    return out;
  }

  private begin(block: Record<string, unknown>): string {
    this.index += 1;
    return frame('content_block_start', { index: this.index, content_block: block });
  }

  private stop(): string[] {
    if (!this.open) return [];
    this.open = undefined;
    return [frame('content_block_stop', { index: this.index })];
  }
}

export function frame(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}
