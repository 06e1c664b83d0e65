import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  OutputConfig,
  ThinkingConfigParam,
  Tool,
  ToolChoice,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { budgetOf } from '../reasoning.ts';
import { firstUnhonoured, type Unsupported } from '../request-support.ts';
import type { ChatMessage, CompletionRequest, ContentPart } from '../types.ts';

/**
 * The tool that carries structured output: the Messages API has no `response_format`, so the
 * schema becomes a tool's input schema and the model is made to call it; its input is the answer.
 */
export const STRUCTURED_TOOL = 'structured_output';

/** Extra OpenAI fields the Messages API has a counterpart for (mapped in `toParams`). */
const honoured = new Set(['user', 'parallel_tool_calls', 'stream_options']);

/** An extra field with no counterpart, or a content part the Messages API does not take. */
export function unsupported(request: CompletionRequest): Unsupported | undefined {
  const field = firstUnhonoured(request, 'Anthropic', honoured, true);
  if (field) return field;
  for (const [i, m] of request.messages.entries()) {
    for (const [j, part] of (m.parts ?? []).entries()) {
      const why = partRefusal(part);
      if (why) return { param: `messages[${i}].content[${j}]`, reason: why };
    }
  }
  return undefined;
}

export function toParams(r: CompletionRequest, defaultMaxTokens: number): MessageCreateParamsBase {
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
      // Thinking blocks go back first and unchanged: the model checks their signatures.
      const blocks: ContentBlockParam[] = [...(m.thinking ?? [])];
      if (m.content) blocks.push({ type: 'text', text: m.content });
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
      push('user', userBlocks(m));
    }
  }
  const tools: Tool[] = (r.tools ?? []).map((t) => ({
    name: t.function.name,
    ...(t.function.description && { description: t.function.description }),
    input_schema: (t.function.parameters ?? { type: 'object', properties: {} }) as Tool['input_schema'],
  }));
  const structured = structuredTool(r);
  // With tools of its own the model may still call them; alone, the structured tool is forced.
  const ownTools = tools.length > 0;
  if (structured) tools.push(structured);
  const parallel = r.extra?.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  let choice: ToolChoice | undefined;
  if (structured && !ownTools) choice = { type: 'tool', name: STRUCTURED_TOOL, ...parallel };
  else if (r.tool_choice !== undefined && tools.length > 0) choice = toolChoice(r.tool_choice, parallel);
  else if (parallel.disable_parallel_tool_use && tools.length > 0) choice = { type: 'auto', ...parallel };
  const user = r.extra?.user;
  const maxTokens = r.max_tokens ?? defaultMaxTokens;
  const native = r.reasoning?.anthropic;
  const budget = native ? undefined : thinkingBudget(r, maxTokens, choice);
  return {
    model: r.model,
    max_tokens: maxTokens,
    // The Messages door's own settings go as they were sent; Anthropic answers for what it refuses.
    ...(native?.thinking && { thinking: native.thinking as unknown as ThinkingConfigParam }),
    ...(native?.effort && { output_config: { effort: native.effort as OutputConfig['effort'] } }),
    ...(budget !== undefined && { thinking: { type: 'enabled', budget_tokens: budget } }),
    messages,
    ...(system && { system }),
    ...(tools.length > 0 && { tools }),
    ...(choice && { tool_choice: choice }),
    ...(typeof user === 'string' && { metadata: { user_id: user } }),
    ...(r.temperature !== undefined && { temperature: r.temperature }),
    ...(r.top_p !== undefined && { top_p: r.top_p }),
    ...(r.stop !== undefined && { stop_sequences: Array.isArray(r.stop) ? r.stop : [r.stop] }),
  };
}

/** Anthropic's smallest thinking budget. */
const MIN_BUDGET = 1024;

/**
 * The thinking budget to send: the caller's own (the Messages door), as it is; else one for its
 * effort, below max_tokens (as Anthropic requires), and none when that leaves less than Anthropic's
 * minimum, for effort `none`, or when a tool is forced (which Anthropic refuses with thinking).
 */
function thinkingBudget(
  r: CompletionRequest,
  maxTokens: number,
  choice: ToolChoice | undefined,
): number | undefined {
  if (r.reasoning?.budget_tokens !== undefined) return r.reasoning.budget_tokens;
  const effort = r.reasoning?.effort;
  if (!effort || effort === 'none') return undefined;
  if (choice?.type === 'tool' || choice?.type === 'any') return undefined;
  const budget = Math.min(budgetOf(effort), maxTokens - 1);
  return budget >= MIN_BUDGET ? budget : undefined;
}

/** The schema of a structured answer as a tool; JSON mode is any object. */
function structuredTool(r: CompletionRequest): Tool | undefined {
  const f = r.response_format;
  if (!f || f.type === 'text') return undefined;
  const schema = f.type === 'json_schema' ? f.json_schema.schema : undefined;
  return {
    name: STRUCTURED_TOOL,
    description:
      (f.type === 'json_schema' && f.json_schema.description) ||
      'Give your final answer by calling this tool with it as the input.',
    input_schema: (schema ?? { type: 'object', additionalProperties: true }) as Tool['input_schema'],
  };
}

/** A user message's blocks: its parts mapped (images, PDFs), else its text. */
function userBlocks(m: ChatMessage): ContentBlockParam[] {
  if (!m.parts) return [{ type: 'text', text: m.content ?? '' }];
  return m.parts.flatMap((part): ContentBlockParam[] => {
    if (part.type === 'text') return [{ type: 'text', text: part.text ?? '' }];
    if (part.type === 'image_url') {
      const url = String((part.image_url as { url?: unknown } | undefined)?.url ?? '');
      const data = dataUrl(url);
      if (!data) return [{ type: 'image', source: { type: 'url', url } }];
      return [
        {
          type: 'image',
          source: { type: 'base64', media_type: data.mediaType as 'image/png', data: data.base64 },
        },
      ];
    }
    if (part.type === 'file') {
      // A PDF by URL (from the Messages door): Anthropic fetches it, as it would for a direct call.
      const fileUrl = (part.file as { file_url?: unknown }).file_url;
      if (typeof fileUrl === 'string') return [{ type: 'document', source: { type: 'url', url: fileUrl } }];
      const data = dataUrl(String((part.file as { file_data?: unknown }).file_data));
      return [
        { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data!.base64 } },
      ];
    }
    return [];
  });
}

const imageTypes = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** Why the Messages API cannot take this part, or undefined when it can. */
function partRefusal(part: ContentPart): string | undefined {
  if (part.type === 'text' || part.type === 'refusal') return undefined;
  if (part.type === 'image_url') {
    const url = String((part.image_url as { url?: unknown } | undefined)?.url ?? '');
    const data = dataUrl(url);
    if (url.startsWith('data:') && (!data || !imageTypes.has(data.mediaType))) {
      return `Anthropic models take images as base64 data URLs of ${[...imageTypes].join(', ')}`;
    }
    return undefined;
  }
  if (part.type === 'file') {
    if (typeof (part.file as { file_url?: unknown } | undefined)?.file_url === 'string') return undefined;
    const data = dataUrl(String((part.file as { file_data?: unknown } | undefined)?.file_data ?? ''));
    if (data?.mediaType === 'application/pdf') return undefined;
    return 'Anthropic models take files as base64 PDF data URLs (file_data), not file ids or other types';
  }
  return `Anthropic models do not take ${part.type} content parts`;
}

function dataUrl(url: string): { mediaType: string; base64: string } | undefined {
  const m = /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, base64: m[2]! } : undefined;
}

function toolChoice(
  choice: NonNullable<CompletionRequest['tool_choice']>,
  parallel: { disable_parallel_tool_use?: boolean },
): ToolChoice {
  if (choice === 'auto') return { type: 'auto', ...parallel };
  if (choice === 'required') return { type: 'any', ...parallel };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name, ...parallel };
}

function parseArgs(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}
