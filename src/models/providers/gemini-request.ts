import { randomBytes } from 'node:crypto';
import { budgetOf } from '../reasoning.ts';
import { firstUnhonoured, type Unsupported } from '../request-support.ts';
import type { ChatMessage, CompletionRequest, ContentPart } from '../types.ts';

/**
 * The gateway's request as Gemini's `generateContent` body, the same on the Gemini API and on
 * Vertex AI: system messages become `systemInstruction`, the turns `contents` (roles `user` and
 * `model`; tool calls `functionCall` parts, tool results `functionResponse` parts), tools
 * `functionDeclarations`, and the sampling fields and answer format `generationConfig`.
 */

export interface GeminiPart {
  text?: string;
  /** A summary of the model's thinking: not part of the answer. */
  thought?: boolean;
  /** Gemini's opaque token for its thinking before this part, which later turns must send back. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  functionCall?: { id?: string; name: string; args?: Record<string, unknown> };
  functionResponse?: { id?: string; name: string; response: Record<string, unknown> };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GenerateContentBody {
  contents: GeminiContent[];
  systemInstruction?: { parts: GeminiPart[] };
  tools?: Array<{ functionDeclarations: FunctionDeclaration[] }>;
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
  generationConfig?: Record<string, unknown>;
}

interface FunctionDeclaration {
  name: string;
  description?: string;
  parametersJsonSchema?: Record<string, unknown>;
}

/** Extra Chat Completions fields with a `generationConfig` counterpart (mapped in `toBody`). */
const generationFields: Record<string, string> = {
  seed: 'seed',
  presence_penalty: 'presencePenalty',
  frequency_penalty: 'frequencyPenalty',
};
const honoured = new Set([...Object.keys(generationFields), 'stream_options', 'parallel_tool_calls']);

/** An extra field or content part the generateContent API cannot take. */
export function unsupported(request: CompletionRequest): Unsupported | undefined {
  const field = firstUnhonoured(request, 'Gemini', honoured, true);
  if (field) return field;
  if (request.extra?.parallel_tool_calls === false) {
    return { param: 'parallel_tool_calls', reason: 'Gemini models cannot be kept to one tool call a turn' };
  }
  for (const [i, m] of request.messages.entries()) {
    for (const [j, part] of (m.parts ?? []).entries()) {
      if (!inlinePart(part) && part.type !== 'text' && part.type !== 'refusal') {
        return {
          param: `messages[${i}].content[${j}]`,
          reason: 'Gemini models take images, audio and files as base64 data (data URLs), not by URL or id',
        };
      }
    }
  }
  return undefined;
}

export function toBody(r: CompletionRequest): GenerateContentBody {
  const system = r.messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content ?? '')
    .join('\n\n');
  // A tool result names its function, which OpenAI's shape leaves to the call it answers.
  const names = new Map<string, string>();
  for (const m of r.messages) for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  const contents: GeminiContent[] = [];
  const push = (role: GeminiContent['role'], parts: GeminiPart[]) => {
    // An empty answer has nothing Gemini would take (it refuses empty parts): left out.
    if (parts.length === 0) return;
    // Consecutive tool results answer one turn of calls: Gemini wants them in one content.
    const last = contents.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const m of r.messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') push('user', [functionResponse(m, names)]);
    else if (m.role === 'assistant') push('model', modelParts(m));
    else push('user', userParts(m));
  }
  const declarations = (r.tools ?? []).map(
    (t): FunctionDeclaration => ({
      name: t.function.name,
      ...(t.function.description && { description: t.function.description }),
      ...(t.function.parameters && { parametersJsonSchema: schemaOf(t.function.parameters) }),
    }),
  );
  const generationConfig: Record<string, unknown> = {
    ...(r.stop !== undefined && { stopSequences: Array.isArray(r.stop) ? r.stop : [r.stop] }),
    ...(r.max_tokens !== undefined && { maxOutputTokens: r.max_tokens }),
    ...(r.temperature !== undefined && { temperature: r.temperature }),
    ...(r.top_p !== undefined && { topP: r.top_p }),
    ...answerFormat(r),
    ...thinkingConfig(r),
  };
  for (const [field, name] of Object.entries(generationFields)) {
    const value = r.extra?.[field];
    if (value !== undefined && value !== null) generationConfig[name] = value;
  }
  const toolConfig =
    declarations.length > 0 && r.tool_choice !== undefined ? toolChoice(r.tool_choice) : undefined;
  return {
    contents,
    ...(system && { systemInstruction: { parts: [{ text: system }] } }),
    ...(declarations.length > 0 && { tools: [{ functionDeclarations: declarations }] }),
    ...(toolConfig && { toolConfig }),
    ...(Object.keys(generationConfig).length > 0 && { generationConfig }),
  };
}

/**
 * The request's reasoning as Gemini's `thinkingConfig.thinkingBudget`: a budget as given, an effort
 * by its budget (`none`: 0, no thinking), Anthropic's adaptive thinking as -1 (the model decides).
 */
function thinkingConfig(r: CompletionRequest): Record<string, unknown> {
  const { effort, budget_tokens: budget, anthropic } = r.reasoning ?? {};
  let thinkingBudget: number | undefined;
  if (budget !== undefined) thinkingBudget = budget;
  else if (effort) thinkingBudget = effort === 'none' ? 0 : budgetOf(effort);
  else if (anthropic?.thinking) thinkingBudget = -1;
  return thinkingBudget === undefined ? {} : { thinkingConfig: { thinkingBudget } };
}

/** JSON mode and JSON Schema answers: `application/json`, with the schema when there is one. */
function answerFormat(r: CompletionRequest): Record<string, unknown> {
  const f = r.response_format;
  if (!f || f.type === 'text') return {};
  if (f.type === 'json_object' || !f.json_schema.schema) return { responseMimeType: 'application/json' };
  return { responseMimeType: 'application/json', responseJsonSchema: schemaOf(f.json_schema.schema) };
}

/** A JSON Schema as Gemini's `*JsonSchema` fields take it: without the dialect it declares. */
function schemaOf(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function toolChoice(
  choice: NonNullable<CompletionRequest['tool_choice']>,
): GenerateContentBody['toolConfig'] {
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
}

function modelParts(m: ChatMessage): GeminiPart[] {
  const parts: GeminiPart[] = m.content ? [{ text: m.content }] : [];
  for (const c of m.tool_calls ?? []) {
    const { id, signature } = parseToolCallId(c.id);
    parts.push({
      functionCall: { ...(id && { id }), name: c.function.name, args: parseArgs(c.function.arguments) },
      ...(signature && { thoughtSignature: signature }),
    });
  }
  return parts;
}

/** A tool's result: its JSON when it is an object, else its text, as the `output` Gemini reads. */
function functionResponse(m: ChatMessage, names: Map<string, string>): GeminiPart {
  const { id } = parseToolCallId(m.tool_call_id ?? '');
  const name = names.get(m.tool_call_id ?? '') ?? m.name ?? '';
  const text = m.content ?? '';
  let output: unknown = text;
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === 'object') output = parsed;
  } catch {
    // Plain text: sent as it is.
  }
  return { functionResponse: { ...(id && { id }), name, response: { output } } };
}

function userParts(m: ChatMessage): GeminiPart[] {
  if (!m.parts) return [{ text: m.content ?? '' }];
  return m.parts.flatMap((part): GeminiPart[] => {
    if (part.type === 'text') return [{ text: part.text ?? '' }];
    const data = inlinePart(part);
    return data ? [{ inlineData: data }] : [];
  });
}

const audioTypes: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mp3' };

/** An image, audio clip or file given as base64 data, as Gemini's `inlineData`. */
function inlinePart(part: ContentPart): { mimeType: string; data: string } | undefined {
  if (part.type === 'image_url') {
    return dataUrl(String((part.image_url as { url?: unknown } | undefined)?.url ?? ''));
  }
  if (part.type === 'file') {
    return dataUrl(String((part.file as { file_data?: unknown } | undefined)?.file_data ?? ''));
  }
  if (part.type === 'input_audio') {
    const audio = (part.input_audio ?? {}) as { data?: unknown; format?: unknown };
    const mimeType = audioTypes[String(audio.format)];
    return mimeType && typeof audio.data === 'string' ? { mimeType, data: audio.data } : undefined;
  }
  return undefined;
}

function dataUrl(url: string): { mimeType: string; data: string } | undefined {
  const m = /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s.exec(url);
  return m ? { mimeType: m[1]!, data: m[2]! } : undefined;
}

/**
 * Tool call ids carry what Gemini needs back with the call in a later turn, since OpenAI's shape
 * has no field for it and clients send ids back unchanged: Gemini's own id for the call, if it gave
 * one (`g-<id>`; else a random `call_…`, which is not sent back), and the part's thought signature
 * (after `|ts|`), without which Gemini 3 refuses the turn that answers the call.
 */
const SIGNATURE = '|ts|';

export function toolCallId(geminiId: string | undefined, signature: string | undefined): string {
  const base = geminiId ? `g-${geminiId}` : `call_${randomBytes(12).toString('hex')}`;
  return signature ? `${base}${SIGNATURE}${signature}` : base;
}

function parseToolCallId(value: string): { id?: string; signature?: string } {
  const at = value.indexOf(SIGNATURE);
  const base = at >= 0 ? value.slice(0, at) : value;
  const signature = at >= 0 ? value.slice(at + SIGNATURE.length) : undefined;
  return { ...(base.startsWith('g-') && { id: base.slice(2) }), ...(signature && { signature }) };
}

function parseArgs(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
