import type { ChatMessage, Completion, CompletionChunk, FinishReason, Usage } from '../../models/types.ts';
import { tokenDetails } from '../../models/usage-details.ts';
import { hex, type ResponsesBody } from './responses-request.ts';

/**
 * The Responses API's answers: the Response object, and its stream of typed events
 * (`response.created` … `response.completed`), rendered from the gateway's completion or chunks.
 */

type OutputItem = Record<string, unknown> & { id: string; type: string };

/** What a Response echoes of its request, fixed before the answer. */
export interface ResponseHead {
  id: string;
  created_at: number;
  model: string;
  body: ResponsesBody;
}

export function newResponseHead(body: ResponsesBody): ResponseHead {
  return { id: `resp_${hex()}`, created_at: Math.floor(Date.now() / 1000), model: body.model, body };
}

export function responseObject(
  head: ResponseHead,
  status: 'in_progress' | 'completed' | 'incomplete',
  output: OutputItem[],
  usage: Usage | null,
  model = head.model,
) {
  const b = head.body;
  return {
    id: head.id,
    object: 'response',
    created_at: head.created_at,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: {
      effort: b.reasoning?.effort ?? null,
      summary: b.reasoning?.summary ?? b.reasoning?.generate_summary ?? null,
    },
    store: b.store ?? true,
    temperature: b.temperature ?? 1,
    text: { format: b.text?.format ?? { type: 'text' } },
    tool_choice: b.tool_choice ?? 'auto',
    tools: b.tools ?? [],
    top_p: b.top_p ?? 1,
    truncation: b.truncation ?? 'disabled',
    usage: usage && wireUsage(usage),
    user: b.user ?? null,
    metadata: b.metadata ?? {},
  };
}

export type ResponseObject = ReturnType<typeof responseObject>;

function wireUsage(u: Usage) {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: tokenDetails(u).cachedInput },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: tokenDetails(u).reasoning },
    total_tokens: u.total_tokens,
  };
}

const statusOf = (finish: FinishReason) => (finish === 'length' ? 'incomplete' : 'completed');

const messageItem = (id: string, text: string, status: string): OutputItem => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: text === '' && status === 'in_progress' ? [] : [textPart(text)],
});
const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });

/** The output items of a whole completion: its text as a message, then each tool call. */
export function outputOf(c: Completion): OutputItem[] {
  const out: OutputItem[] = [];
  if (c.message.content) out.push(messageItem(`msg_${hex()}`, c.message.content, 'completed'));
  for (const call of c.message.tool_calls ?? []) {
    out.push({
      id: `fc_${hex()}`,
      type: 'function_call',
      status: 'completed',
      arguments: call.function.arguments,
      call_id: call.id,
      name: call.function.name,
    });
  }
  return out;
}

export function completedResponse(head: ResponseHead, c: Completion) {
  return responseObject(head, statusOf(c.finish_reason), outputOf(c), c.usage, c.model);
}

/** The assistant's turn as the conversation keeps it, from the output items. */
export function assistantMessage(output: readonly OutputItem[]): ChatMessage {
  const text = output
    .filter((o) => o.type === 'message')
    .map((o) => (o.content as Array<{ text: string }>).map((p) => p.text).join(''))
    .join('');
  const calls = output
    .filter((o) => o.type === 'function_call')
    .map((o) => ({
      id: o.call_id as string,
      type: 'function' as const,
      function: { name: o.name as string, arguments: o.arguments as string },
    }));
  return { role: 'assistant', content: text || null, ...(calls.length > 0 && { tool_calls: calls }) };
}

/**
 * Renders the gateway's chunks as the Responses API's stream: each event one `event:`/`data:` frame
 * with its `sequence_number`. A text run is one message item; each tool call its own function_call
 * item; an item is closed (its `.done` events) when the next one opens or the answer finishes.
 */
export class ResponseEvents {
  private seq = 0;
  private readonly output: OutputItem[] = [];
  private open?: { item: OutputItem; text: string; toolIndex?: number };

  constructor(private readonly head: ResponseHead) {}

  /** `response.created` and `response.in_progress`. */
  start(): string[] {
    const r = responseObject(this.head, 'in_progress', [], null);
    return [
      this.frame('response.created', { response: r }),
      this.frame('response.in_progress', { response: r }),
    ];
  }

  render(chunk: CompletionChunk): string[] {
    if (chunk.type === 'text') return this.text(chunk.delta);
    if (chunk.type === 'tool_call') return this.toolCall(chunk);
    // Thinking blocks reach only the Messages door (CompletionRequest.thinking_blocks).
    if (chunk.type === 'thinking') return [];
    const frames = this.close();
    const done = responseObject(
      this.head,
      statusOf(chunk.finish_reason),
      this.output,
      chunk.usage,
      chunk.model,
    );
    this.completed = done;
    const type = done.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    frames.push(this.frame(type, { response: done }));
    return frames;
  }

  /** The whole response once the finish was rendered. */
  completed?: ResponseObject;

  /** An `error` event, for a stream that broke after it started. */
  error(code: string, message: string): string {
    return this.frame('error', { code, message, param: null });
  }

  private text(delta: string): string[] {
    const frames: string[] = [];
    if (this.open?.item.type !== 'message') {
      frames.push(...this.close());
      const item = messageItem(`msg_${hex()}`, '', 'in_progress');
      this.open = { item, text: '' };
      frames.push(this.frame('response.output_item.added', { output_index: this.output.length, item }));
      frames.push(
        this.frame('response.content_part.added', {
          item_id: item.id,
          output_index: this.output.length,
          content_index: 0,
          part: textPart(''),
        }),
      );
    }
    this.open!.text += delta;
    frames.push(
      this.frame('response.output_text.delta', {
        item_id: this.open!.item.id,
        output_index: this.output.length,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
    return frames;
  }

  private toolCall(chunk: Extract<CompletionChunk, { type: 'tool_call' }>): string[] {
    const frames: string[] = [];
    if (this.open?.toolIndex !== chunk.index) {
      frames.push(...this.close());
      const item: OutputItem = {
        id: `fc_${hex()}`,
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: chunk.id ?? `call_${hex().slice(0, 24)}`,
        name: chunk.name ?? '',
      };
      this.open = { item, text: '', toolIndex: chunk.index };
      frames.push(this.frame('response.output_item.added', { output_index: this.output.length, item }));
    }
    if (chunk.arguments_delta) {
      this.open!.text += chunk.arguments_delta;
      frames.push(
        this.frame('response.function_call_arguments.delta', {
          item_id: this.open!.item.id,
          output_index: this.output.length,
          delta: chunk.arguments_delta,
        }),
      );
    }
    return frames;
  }

  /** The `.done` events of the open item, which joins the output. */
  private close(): string[] {
    const open = this.open;
    if (!open) return [];
    this.open = undefined;
    const output_index = this.output.length;
    const frames: string[] = [];
    let item: OutputItem;
    if (open.item.type === 'message') {
      item = messageItem(open.item.id, open.text, 'completed');
      const ids = { item_id: item.id, output_index, content_index: 0 };
      frames.push(this.frame('response.output_text.done', { ...ids, text: open.text, logprobs: [] }));
      frames.push(this.frame('response.content_part.done', { ...ids, part: textPart(open.text) }));
    } else {
      item = { ...open.item, status: 'completed', arguments: open.text };
      frames.push(
        this.frame('response.function_call_arguments.done', {
          item_id: item.id,
          output_index,
          name: item.name,
          arguments: open.text,
        }),
      );
    }
    this.output.push(item);
    frames.push(this.frame('response.output_item.done', { output_index, item }));
    return frames;
  }

  private frame(type: string, data: Record<string, unknown>): string {
    const payload = JSON.stringify({ type, ...data, sequence_number: this.seq++ });
    return `event: ${type}\ndata: ${payload}\n\n`;
  }
}
