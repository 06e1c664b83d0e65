import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { ChatMessage, CompletionRequest, ToolCall } from '../../models/types.ts';

/**
 * The request of POST /v1/messages (Anthropic's Messages API) and its translation onto the gateway's
 * request (OpenAI's shapes): system prompt, turns, tools and tool results. What cannot be honoured
 * (images, documents, extended thinking, top_k) is refused with a 400 naming it, never dropped.
 */

const text = z.string().max(2_000_000);
const block = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([text, z.array(block)]),
});
const tool = z.looseObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
  type: z.string().nullable().optional(),
});

const messagesFields = {
  model: z.string().min(1).max(200),
  messages: z.array(message).min(1),
  system: z.union([text, z.array(block)]).optional(),
  tools: z.array(tool).optional(),
  tool_choice: z
    .looseObject({
      type: z.enum(['auto', 'any', 'tool', 'none']),
      name: z.string().optional(),
      disable_parallel_tool_use: z.boolean().optional(),
    })
    .optional(),
};

export const messagesBody = z.looseObject({
  ...messagesFields,
  max_tokens: z.number().int().positive(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  stop_sequences: z.array(z.string()).max(16).optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
});
export type MessagesBody = z.infer<typeof messagesBody>;

export const countTokensBody = z.looseObject(messagesFields);
export type CountTokensBody = z.infer<typeof countTokensBody>;

/** Fields that would change the answer and cannot be honoured here. */
const refused: Record<string, string> = {
  thinking: 'extended thinking is not supported by the gateway',
  top_k: 'top_k is not supported by the gateway',
  container: 'containers are not supported',
  mcp_servers: 'MCP servers are not supported on /v1/messages; register them with an agent',
};

export function translate(body: CountTokensBody & Partial<MessagesBody>): CompletionRequest {
  for (const [field, why] of Object.entries(refused)) {
    const v = (body as Record<string, unknown>)[field];
    if (v !== undefined && v !== null && !(field === 'thinking' && isDisabled(v))) {
      throw new AppError('bad_request', `${field}: ${why}`);
    }
  }
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) {
    const system = typeof body.system === 'string' ? body.system : textOf(body.system, 'system');
    if (system) messages.push({ role: 'system', content: system });
  }
  body.messages.forEach((m, i) => {
    messages.push(...(m.role === 'user' ? userTurn(m.content, i) : assistantTurn(m.content, i)));
  });
  const tools = body.tools?.map((t, i) => {
    if (t.type && t.type !== 'custom') {
      throw new AppError(
        'bad_request',
        `tools.${i}: server tools (${t.type}) are not supported; define custom tools`,
      );
    }
    return {
      type: 'function' as const,
      function: {
        name: t.name,
        ...(t.description && { description: t.description }),
        parameters: t.input_schema,
      },
    };
  });
  const choice = body.tool_choice;
  return {
    model: body.model,
    messages,
    ...(tools && tools.length > 0 && { tools }),
    ...(choice && {
      tool_choice:
        choice.type === 'tool'
          ? { type: 'function' as const, function: { name: choice.name ?? '' } }
          : choice.type === 'any'
            ? ('required' as const)
            : choice.type,
    }),
    ...(body.max_tokens !== undefined && { max_tokens: body.max_tokens }),
    ...(body.temperature !== undefined && { temperature: body.temperature }),
    ...(body.top_p !== undefined && { top_p: body.top_p }),
    ...(body.stop_sequences && body.stop_sequences.length > 0 && { stop: body.stop_sequences }),
  };
}

const isDisabled = (v: unknown) => typeof v === 'object' && (v as { type?: string }).type === 'disabled';

type Block = { type: string } & Record<string, unknown>;

/** A user turn: its tool results become tool messages (in order), its text one user message. */
function userTurn(content: string | Block[], i: number): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const out: ChatMessage[] = [];
  let text = '';
  content.forEach((b, j) => {
    const at = `messages.${i}.content.${j}`;
    if (b.type === 'tool_result') {
      const result = b.content as string | Block[] | undefined;
      const body =
        result === undefined ? '' : typeof result === 'string' ? result : textOf(result, `${at}.content`);
      out.push({
        role: 'tool',
        tool_call_id: String(b.tool_use_id ?? ''),
        content: b.is_error === true ? `Error: ${body}` : body,
      });
    } else text += textOf([b], at);
  });
  if (text) out.push({ role: 'user', content: text });
  return out;
}

function assistantTurn(content: string | Block[], i: number): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'assistant', content }];
  let text = '';
  const calls: ToolCall[] = [];
  content.forEach((b, j) => {
    if (b.type === 'tool_use') {
      calls.push({
        id: String(b.id ?? ''),
        type: 'function',
        function: { name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) },
      });
    } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') {
      text += textOf([b], `messages.${i}.content.${j}`);
    }
  });
  return [{ role: 'assistant', content: text || null, ...(calls.length > 0 && { tool_calls: calls }) }];
}

function textOf(blocks: Block[], at: string): string {
  return blocks
    .map((b, j) => {
      if (b.type !== 'text' || typeof b.text !== 'string') {
        throw new AppError(
          'bad_request',
          `${blocks.length > 1 ? `${at}.${j}` : at}: content blocks of type ${b.type} are not supported`,
        );
      }
      return b.text;
    })
    .join('');
}
