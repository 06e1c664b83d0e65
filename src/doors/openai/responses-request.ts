import { z } from 'zod';
import { newId } from '../../db/ids.ts';
import { AppError } from '../../errors.ts';
import { MAX_INLINE_PART_BYTES } from '../../models/openai-wire.ts';
import type { ChatMessage, CompletionRequest, ContentPart, ToolSpec } from '../../models/types.ts';
import { clientJsonSchema } from '../../text/client-schema.ts';

/**
 * The request of POST /v1/responses (OpenAI's Responses API) and its translation onto the gateway's
 * request. Fields the gateway acts on are validated; fields a client library sends by default and
 * that change nothing here (include, metadata, user, truncation, …) are accepted; fields that would
 * change the answer and cannot be honoured (`conversation`, `prompt`, `background`, image and file
 * inputs, built-in tools) are refused with a 400 that names them, never dropped.
 */

const text = z.string().max(2_000_000);
const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  id: z.string().optional(),
  role: z.enum(['user', 'system', 'developer', 'assistant']),
  content: z.union([text, z.array(contentPart)]),
});
const functionCall = z.looseObject({
  type: z.literal('function_call'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});
const functionCallOutput = z.looseObject({
  type: z.literal('function_call_output'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  output: z.union([text, z.array(contentPart)]),
});
const otherItem = z.looseObject({ type: z.string() });
const inputItem = z.union([messageItem, functionCall, functionCallOutput, otherItem]);

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
  description: z.string().nullable().optional(),
  parameters: clientJsonSchema({ compile: false }).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const format = z.union([
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    schema: clientJsonSchema(),
    description: z.string().optional(),
    strict: z.boolean().nullable().optional(),
  }),
]);

export const responsesBody = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([text, z.array(inputItem)]).optional(),
  instructions: z.string().max(2_000_000).nullable().optional(),
  previous_response_id: z.string().min(1).max(200).nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.object({ type: z.literal('function'), name: z.string() }),
    ])
    .optional(),
  text: z.looseObject({ format: format.optional() }).nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  store: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  include: z.array(z.string()).nullable().optional(),
  truncation: z.enum(['auto', 'disabled']).nullable().optional(),
  user: z.string().nullable().optional(),
  /** How hard a reasoning model thinks (`effort`), and the summary of its thinking it should give. */
  reasoning: z
    .looseObject({
      effort: z.string().max(20).nullable().optional(),
      summary: z.string().max(20).nullable().optional(),
      generate_summary: z.string().max(20).nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type ResponsesBody = z.infer<typeof responsesBody>;

/** Fields that change the answer and have no meaning here: refused rather than ignored. */
const refused: Record<string, string> = {
  conversation: 'conversations are not kept; continue with previous_response_id',
  prompt: 'stored prompt templates are not supported; send instructions and input',
  background: 'background responses are not supported; use the task queue (POST /v1/tasks)',
  top_logprobs: 'log probabilities are not supported on /v1/responses',
};

/** An input item as stored and listed (GET /v1/responses/{id}/input_items): each has an id. */
export type InputItem = Record<string, unknown> & { id: string; type: string };

export interface Translated {
  request: CompletionRequest;
  /** This request's own input, as items with ids. */
  items: InputItem[];
  /** The conversation without instructions: the earlier turns and this input. */
  conversation: ChatMessage[];
}

/** The gateway request for a Responses request, after the conversation `earlier` (previous_response_id). */
export function translate(body: ResponsesBody, earlier: readonly ChatMessage[]): Translated {
  for (const [field, why] of Object.entries(refused)) {
    const v = (body as Record<string, unknown>)[field];
    if (v !== undefined && v !== null && v !== false) {
      throw new AppError('bad_request', `${field}: ${why}`, { details: { param: field } });
    }
  }
  const items = inputItems(body.input);
  const conversation = [...earlier, ...items.flatMap((item, i) => messagesOf(item, i))];
  const format = body.text?.format;
  const request: CompletionRequest = {
    model: body.model,
    messages: body.instructions
      ? [{ role: 'system', content: body.instructions }, ...conversation]
      : conversation,
    ...(body.tools && body.tools.length > 0 && { tools: body.tools.map(toolOf) }),
    ...(body.tool_choice !== undefined && {
      tool_choice:
        typeof body.tool_choice === 'string'
          ? body.tool_choice
          : { type: 'function' as const, function: { name: body.tool_choice.name } },
    }),
    ...(body.max_output_tokens != null && { max_tokens: body.max_output_tokens }),
    ...(body.temperature != null && { temperature: body.temperature }),
    ...(body.top_p != null && { top_p: body.top_p }),
    ...(reasoningOf(body) && { reasoning: reasoningOf(body) }),
    ...(format &&
      format.type !== 'text' && {
        response_format:
          format.type === 'json_object'
            ? { type: 'json_object' as const }
            : {
                type: 'json_schema' as const,
                json_schema: {
                  name: format.name,
                  schema: format.schema,
                  ...(format.description !== undefined && { description: format.description }),
                  ...(format.strict != null && { strict: format.strict }),
                },
              },
      }),
  };
  if (request.messages.length === 0) {
    throw new AppError(
      'bad_request',
      'input: nothing to answer (send input, or previous_response_id and input)',
      {
        details: { param: 'input' },
      },
    );
  }
  return { request, items, conversation };
}

function inputItems(input: ResponsesBody['input']): InputItem[] {
  if (input === undefined) return [];
  if (typeof input === 'string') {
    return [
      { id: `msg_${hex()}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] },
    ];
  }
  return input.map((item) => {
    const type = typeof item.type === 'string' ? item.type : 'message';
    const prefix = type === 'message' ? 'msg' : type === 'function_call' ? 'fc' : 'fco';
    return { ...item, type, id: typeof item.id === 'string' ? item.id : `${prefix}_${hex()}` };
  });
}

function messagesOf(item: InputItem, index: number): ChatMessage[] {
  const at = `input[${index}]`;
  if (item.type === 'message') {
    const role = item.role as 'user' | 'system' | 'developer' | 'assistant';
    const raw = item.content as string | Array<{ type: string; text?: string }>;
    const parts = role === 'user' ? partsOf(raw, at) : undefined;
    const content = textOf(
      parts && typeof raw !== 'string' ? raw.filter((p) => !media.has(p.type)) : raw,
      at,
    );
    return [{ role: role === 'developer' ? 'system' : role, content, ...(parts && { parts }) }];
  }
  if (item.type === 'function_call') {
    return [
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: item.call_id as string,
            type: 'function',
            function: { name: item.name as string, arguments: item.arguments as string },
          },
        ],
      },
    ];
  }
  if (item.type === 'function_call_output') {
    const output = item.output as string | Array<{ type: string; text?: string }>;
    return [{ role: 'tool', tool_call_id: item.call_id as string, content: textOf(output, at) }];
  }
  // Reasoning items a client hands back carry nothing the gateway's models read.
  if (item.type === 'reasoning') return [];
  throw new AppError('bad_request', `${at}: input items of type ${item.type} are not supported`, {
    details: { param: at },
  });
}

/** The Responses API's image and file input parts, which a user message may carry. */
const media = new Set(['input_image', 'input_file']);

/**
 * A user message's parts in Chat Completions' shapes (text, `image_url`, `file`) when it has an
 * image or a file; undefined for text alone. Inline data over the gateway's limit is a 413.
 */
function partsOf(content: string | Array<{ type: string; text?: string }>, at: string) {
  if (typeof content === 'string' || !content.some((p) => media.has(p.type))) return undefined;
  return (content as Array<{ type: string } & Record<string, unknown>>).map((p, j): ContentPart => {
    const param = `${at}.content[${j}]`;
    const refuse = (why: string) => {
      throw new AppError('bad_request', `${param}: ${why}`, { details: { param } });
    };
    const inline = (data: unknown) => {
      if (typeof data === 'string' && (data.length * 3) / 4 > MAX_INLINE_PART_BYTES) {
        throw new AppError(
          'payload_too_large',
          `${param}: inline data is over ${MAX_INLINE_PART_BYTES / 1024 / 1024} MB`,
          {
            details: { param },
          },
        );
      }
    };
    if (p.type === 'input_image') {
      if (typeof p.image_url !== 'string') refuse('an input_image needs its image_url (a URL or a data URL)');
      inline(p.image_url);
      const detail = typeof p.detail === 'string' ? { detail: p.detail } : {};
      return { type: 'image_url', image_url: { url: p.image_url, ...detail } };
    }
    if (p.type === 'input_file') {
      if (typeof p.file_data !== 'string' && typeof p.file_id !== 'string') {
        refuse('an input_file needs its file_data or file_id');
      }
      inline(p.file_data);
      const file: Record<string, unknown> = {};
      for (const k of ['file_data', 'file_id', 'filename']) if (typeof p[k] === 'string') file[k] = p[k];
      return { type: 'file', file };
    }
    return { type: 'text', text: textOf([p as { type: string; text?: string }], at) };
  });
}

function textOf(content: string | Array<{ type: string; text?: string }>, at: string): string {
  if (typeof content === 'string') return content;
  return content
    .map((part, j) => {
      if (!['input_text', 'output_text', 'text'].includes(part.type) || typeof part.text !== 'string') {
        throw new AppError(
          'bad_request',
          `${at}.content[${j}]: parts of type ${part.type} are not supported`,
          {
            details: { param: `${at}.content[${j}]` },
          },
        );
      }
      return part.text;
    })
    .join('');
}

function toolOf(tool: { type: string } & Record<string, unknown>, index: number): ToolSpec {
  const parsed = functionTool.safeParse(tool);
  if (!parsed.success) {
    if (tool.type === 'function') {
      // A function tool that breaks a rule (its name, its parameters' bounds): name the field.
      const issue = parsed.error.issues[0]!;
      const param = [`tools[${index}]`, ...issue.path].join('.');
      throw new AppError('bad_request', `${param}: ${issue.message}`, { details: { param } });
    }
    throw new AppError(
      'bad_request',
      `tools[${index}]: only function tools are supported (type ${JSON.stringify(tool.type)})`,
      { details: { param: `tools[${index}]` } },
    );
  }
  const t = parsed.data;
  return {
    type: 'function',
    function: {
      name: t.name,
      ...(t.description && { description: t.description }),
      ...(t.parameters && { parameters: t.parameters }),
    },
  };
}

/** The random part of an OpenAI-style id (`resp_…`, `msg_…`): 48 hex digits, as OpenAI's have. */
export function hex(): string {
  return newId().replaceAll('-', '') + newId().replaceAll('-', '').slice(0, 16);
}

/** The request's `reasoning`, when it sets anything (`generate_summary` is the older name of `summary`). */
function reasoningOf(body: ResponsesBody): CompletionRequest['reasoning'] {
  const r = body.reasoning;
  const summary = r?.summary ?? r?.generate_summary;
  if (!r || (!r.effort && !summary)) return undefined;
  return { ...(r.effort && { effort: r.effort }), ...(summary && { summary }) };
}
