import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type {
  ChatMessage,
  CompletionRequest,
  ContentPart,
  ResponseFormat,
  ThinkingBlock,
  ToolCall,
} from '../../models/types.ts';
import { clientJsonSchema } from '../../text/client-schema.ts';
import { type Block, isMedia, mediaParts } from './messages-content.ts';

/**
 * The request of POST /v1/messages (Anthropic's Messages API) and its translation onto the gateway's
 * request (OpenAI's shapes): system prompt, turns, images and documents (messages-content.ts), tools
 * and tool results, and structured output (`output_config.format`, or the older `output_format`) as
 * the answer format, extended thinking (`thinking`, `output_config.effort`) as the request's reasoning,
 * with the thinking blocks of earlier turns kept for Anthropic models. What cannot be honoured (top_k)
 * is refused with a 400 naming it, never dropped.
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
  input_schema: clientJsonSchema({ compile: false }),
  type: z.string().nullable().optional(),
});

/** Anthropic's structured output: `{type: 'json_schema', schema}`, the only format it defines. */
const outputFormat = z.looseObject({
  type: z.literal('json_schema'),
  schema: z.record(z.string(), z.unknown()),
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
  output_config: z
    .looseObject({
      format: outputFormat.nullable().optional(),
      effort: z.string().nullable().optional(),
    })
    .nullable()
    .optional(),
  /** Extended thinking: enabled with a budget, or disabled (also what its absence means). */
  thinking: z
    .union([
      z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int().min(1) }),
      // `adaptive` (the model decides how much to think), `disabled`, and kinds still to come.
      z.looseObject({ type: z.string().regex(/^[a-z_]{1,40}$/) }),
    ])
    .nullable()
    .optional(),
  /** Deprecated by Anthropic for `output_config.format`; still sent by older SDKs and LangChain. */
  output_format: outputFormat.nullable().optional(),
});
export type MessagesBody = z.infer<typeof messagesBody>;

export const countTokensBody = z.looseObject(messagesFields);
export type CountTokensBody = z.infer<typeof countTokensBody>;

/** Fields that would change the answer and cannot be honoured here. */
const refused: Record<string, string> = {
  top_k: 'top_k is not supported by the gateway',
  container: 'containers are not supported',
  mcp_servers: 'MCP servers are not supported on /v1/messages; register them with an agent',
};

export function translate(body: CountTokensBody & Partial<MessagesBody>): CompletionRequest {
  for (const [field, why] of Object.entries(refused)) {
    const v = (body as Record<string, unknown>)[field];
    if (v !== undefined && v !== null) {
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
  const format = answerFormat(body);
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
    ...(format && { response_format: format }),
    ...reasoningOf(body),
    thinking_blocks: true,
  };
}

/**
 * `thinking` and `output_config.effort` as the request's reasoning: as sent for Anthropic models,
 * and as an effort (or a budget) for the others. Disabled thinking and no effort are no reasoning.
 */
function reasoningOf(body: Partial<MessagesBody>): Pick<CompletionRequest, 'reasoning'> {
  const thinking = body.thinking?.type === 'disabled' ? undefined : (body.thinking ?? undefined);
  const effort = body.output_config?.effort ?? undefined;
  if (!thinking && !effort) return {};
  const budget = typeof thinking?.budget_tokens === 'number' ? thinking.budget_tokens : undefined;
  if (thinking?.type === 'enabled' && budget === undefined) {
    throw new AppError('bad_request', 'thinking.budget_tokens: enabled thinking needs a budget of tokens', {
      details: { param: 'thinking.budget_tokens' },
    });
  }
  return {
    reasoning: {
      ...(effort && { effort }),
      ...(budget !== undefined && { budget_tokens: budget }),
      anthropic: { ...(thinking && { thinking }), ...(effort && { effort }) },
    },
  };
}

/** `output_config.format` (or `output_format`) as the gateway's answer format. */
function answerFormat(body: Partial<MessagesBody>): ResponseFormat | undefined {
  const config = body.output_config;
  const format = config?.format ?? body.output_format;
  if (!format) return undefined;
  return { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
}

/**
 * A user turn: its tool results become tool messages (in order), its text one user message, which
 * carries its images and documents as parts (the text parts among them, in order) when it has any.
 */
function userTurn(content: string | Block[], i: number): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const out: ChatMessage[] = [];
  let text = '';
  const parts: ContentPart[] = [];
  let media = false;
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
    } else if (isMedia(b)) {
      media = true;
      for (const p of mediaParts(b, at)) {
        parts.push(p);
        // A plain-text document is text the model reads: it counts as the message's text too.
        if (p.type === 'text') text += p.text;
      }
    } else {
      const t = textOf([b], at);
      text += t;
      parts.push({ type: 'text', text: t });
    }
  });
  if (media) out.push({ role: 'user', content: text, parts });
  else if (text) out.push({ role: 'user', content: text });
  return out;
}

function assistantTurn(content: string | Block[], i: number): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'assistant', content }];
  let text = '';
  const calls: ToolCall[] = [];
  const thinking: ThinkingBlock[] = [];
  content.forEach((b, j) => {
    if (b.type === 'thinking' || b.type === 'redacted_thinking') {
      thinking.push(thinkingBlock(b, `messages.${i}.content.${j}`));
    } else if (b.type === 'tool_use') {
      calls.push({
        id: String(b.id ?? ''),
        type: 'function',
        function: { name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) },
      });
    } else {
      text += textOf([b], `messages.${i}.content.${j}`);
    }
  });
  return [
    {
      role: 'assistant',
      content: text || null,
      ...(calls.length > 0 && { tool_calls: calls }),
      ...(thinking.length > 0 && { thinking }),
    },
  ];
}

/** A thinking block sent back as Anthropic answered it (an Anthropic model checks its signature). */
function thinkingBlock(b: Block, at: string): ThinkingBlock {
  if (b.type === 'redacted_thinking' && typeof b.data === 'string') {
    return { type: 'redacted_thinking', data: b.data };
  }
  if (b.type === 'thinking' && typeof b.thinking === 'string') {
    return {
      type: 'thinking',
      thinking: b.thinking,
      signature: typeof b.signature === 'string' ? b.signature : '',
    };
  }
  throw new AppError(
    'bad_request',
    `${at}: a ${b.type} block needs its ${b.type === 'thinking' ? 'thinking' : 'data'} text`,
    {
      details: { param: at },
    },
  );
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
