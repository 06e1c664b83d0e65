import type {
  ContentBlock,
  ConverseRequest,
  DocumentFormat,
  ImageFormat,
  Message,
  SystemContentBlock,
  Tool,
  ToolChoice,
} from '@aws-sdk/client-bedrock-runtime';
import { firstUnhonoured, type Unsupported } from '../request-support.ts';
import type { ChatMessage, CompletionRequest, ContentPart } from '../types.ts';

/**
 * The gateway's request as a Converse request (the same body serves `ConverseStream`). The Converse
 * API is one shape for every model on Bedrock (Claude, Llama, Mistral, Nova, …); what a model cannot
 * do (a forced tool, structured output) Bedrock refuses with a ValidationException, answered as a 400.
 */

/** Extra OpenAI fields Converse has a counterpart for: usage is always in the stream's metadata. */
const honoured = new Set(['stream_options']);

/** An extra field with no counterpart, or a part, tool choice or format Converse does not take. */
export function unsupported(request: CompletionRequest): Unsupported | undefined {
  const field = firstUnhonoured(request, 'Bedrock', honoured);
  if (field) return field;
  if (request.tool_choice === 'none' && request.tools?.length) {
    return { param: 'tool_choice', reason: 'Bedrock models take tool_choice auto, required or a named tool' };
  }
  if (request.response_format?.type === 'json_object') {
    return {
      param: 'response_format',
      reason: 'Bedrock models take a json_schema response_format (outputConfig.textFormat), not JSON mode',
    };
  }
  for (const [i, m] of request.messages.entries()) {
    for (const [j, part] of (m.parts ?? []).entries()) {
      const why = partRefusal(part);
      if (why) return { param: `messages[${i}].content[${j}]`, reason: why };
    }
  }
  return undefined;
}

export function toConverse(r: CompletionRequest, defaultMaxTokens: number): ConverseRequest {
  const system: SystemContentBlock[] = r.messages
    .filter((m) => m.role === 'system' && m.content)
    .map((m) => ({ text: m.content! }));
  const messages: Message[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    // Converse refuses empty messages, and wants user and assistant turns to alternate.
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    if (last?.role === role) last.content!.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of r.messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      push('user', [
        { toolResult: { toolUseId: m.tool_call_id ?? '', content: [{ text: m.content || '(empty)' }] } },
      ]);
    } else if (m.role === 'assistant') {
      // A blank text block is a ValidationException: an answer that was only tool calls has none.
      const blocks: ContentBlock[] = m.content?.trim() ? [{ text: m.content }] : [];
      for (const c of m.tool_calls ?? []) {
        blocks.push({
          toolUse: { toolUseId: c.id, name: c.function.name, input: parseArgs(c.function.arguments) },
        });
      }
      push('assistant', blocks);
    } else {
      push('user', userBlocks(m));
    }
  }
  const tools: Tool[] = (r.tools ?? []).map((t) => ({
    toolSpec: {
      name: t.function.name,
      ...(t.function.description && { description: t.function.description }),
      inputSchema: { json: (t.function.parameters ?? { type: 'object', properties: {} }) as never },
    },
  }));
  const format = r.response_format?.type === 'json_schema' ? r.response_format.json_schema : undefined;
  return {
    modelId: r.model,
    messages,
    ...(system.length > 0 && { system }),
    inferenceConfig: {
      maxTokens: r.max_tokens ?? defaultMaxTokens,
      ...(r.temperature !== undefined && { temperature: r.temperature }),
      ...(r.top_p !== undefined && { topP: r.top_p }),
      ...(r.stop !== undefined && { stopSequences: Array.isArray(r.stop) ? r.stop : [r.stop] }),
    },
    ...(tools.length > 0 && { toolConfig: { tools, ...toolChoice(r.tool_choice) } }),
    ...(format && {
      outputConfig: {
        textFormat: {
          type: 'json_schema',
          structure: {
            jsonSchema: {
              // Bedrock takes the schema as a JSON string, not an object.
              schema: JSON.stringify(format.schema ?? { type: 'object' }),
              name: format.name,
              ...(format.description && { description: format.description }),
            },
          },
        },
      },
    }),
  };
}

function toolChoice(choice: CompletionRequest['tool_choice']): { toolChoice?: ToolChoice } {
  if (choice === 'required') return { toolChoice: { any: {} } };
  if (typeof choice === 'object') return { toolChoice: { tool: { name: choice.function.name } } };
  // `auto` is Converse's default; `none` is refused in `unsupported`.
  return {};
}

/** A user message's blocks: its parts mapped (images and documents as bytes), else its text. */
function userBlocks(m: ChatMessage): ContentBlock[] {
  if (!m.parts) return m.content ? [{ text: m.content }] : [];
  let documents = 0;
  return m.parts.flatMap((part): ContentBlock[] => {
    if (part.type === 'text') return part.text ? [{ text: part.text }] : [];
    if (part.type === 'image_url') {
      const data = dataUrl(String((part.image_url as { url?: unknown } | undefined)?.url ?? ''))!;
      const format = data.mediaType.slice('image/'.length) as ImageFormat;
      return [{ image: { format, source: { bytes: Buffer.from(data.base64, 'base64') } } }];
    }
    if (part.type === 'file') {
      const data = dataUrl(String((part.file as { file_data?: unknown }).file_data))!;
      documents += 1;
      // A document needs a name (letters, digits, spaces, hyphens, brackets), unique in the message.
      const name = `document ${documents}`;
      const format = documentTypes[data.mediaType]!;
      return [{ document: { format, name, source: { bytes: Buffer.from(data.base64, 'base64') } } }];
    }
    return [];
  });
}

const imageTypes = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const documentTypes: Record<string, DocumentFormat> = {
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/html': 'html',
  'text/csv': 'csv',
};

/** Why Converse cannot take this part (it takes bytes, not URLs), or undefined when it can. */
function partRefusal(part: ContentPart): string | undefined {
  if (part.type === 'text' || part.type === 'refusal') return undefined;
  if (part.type === 'image_url') {
    const data = dataUrl(String((part.image_url as { url?: unknown } | undefined)?.url ?? ''));
    if (data && imageTypes.has(data.mediaType)) return undefined;
    return `Bedrock models take images as base64 data URLs of ${[...imageTypes].join(', ')}`;
  }
  if (part.type === 'file') {
    const data = dataUrl(String((part.file as { file_data?: unknown } | undefined)?.file_data ?? ''));
    if (data && Object.hasOwn(documentTypes, data.mediaType)) return undefined;
    return `Bedrock models take files as base64 data URLs (file_data) of ${Object.keys(documentTypes).join(', ')}`;
  }
  return `Bedrock models do not take ${part.type} content parts`;
}

function dataUrl(url: string): { mediaType: string; base64: string } | undefined {
  const m = /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, base64: m[2]! } : undefined;
}

type ToolUseInput = NonNullable<ContentBlock.ToolUseMember['toolUse']>['input'];

/** Tool-call arguments as the object Converse's `toolUse.input` is. */
function parseArgs(args: string): ToolUseInput {
  try {
    const v = JSON.parse(args || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
