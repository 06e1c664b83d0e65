import { boundDepth } from '../../text/bound-depth.ts';
import type { OtlpSpan } from './spans.ts';

/**
 * What a span means to a run, read from the conventions apps emit: the AI SDK's telemetry (`ai.*`,
 * operation in `ai.operationId`), OpenInference (`openinference.span.kind`, `llm.*`,
 * `input.value`/`output.value`) and the GenAI semantic conventions (`gen_ai.*`). They are read in
 * that order: the AI SDK writes `gen_ai.*` on its model spans too, and OpenInference's kinds are the
 * more precise where both appear.
 *
 * - a `step`: a model call, a tool call or a retrieval, recorded as one of the run's steps;
 * - a `frame`: an agent or workflow span (`ai.generateText`, `invoke_agent`, an AGENT or CHAIN)
 *   whose prompt and answer are the run's when it is the root;
 * - `null`: a span of no convention (HTTP, database): accepted and not recorded.
 */
export type Meaning =
  | { type: 'step'; step: IngestedStep }
  | { type: 'frame'; input: unknown; output: unknown }
  | null;

export interface IngestedStep {
  kind: 'model' | 'tool' | 'retrieval';
  /** The model that answered, or the tool's or retriever's name. */
  name: string;
  /** The model's provider when the span says it (`gen_ai.system`, `ai.model.provider`), for its price. */
  provider?: string;
  toolCallId?: string;
  input: unknown;
  output: unknown;
  promptTokens: number;
  completionTokens: number;
}

type Attrs = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (...vs: unknown[]): number => {
  for (const v of vs) {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return Math.floor(n);
  }
  return 0;
};

/**
 * A JSON-encoded attribute (messages, tool arguments; with `anyJson`, any JSON text) as its value, nesting cut as the run loop cuts
 * a model's arguments; any other string as it is. Text whose escapes would decode to what the store
 * cannot keep (NUL, a surrogate) stays the string it came as, which decoding has already mended.
 */
export function parsed(v: unknown, anyJson = false): unknown {
  if (typeof v !== 'string') return v ?? null;
  const t = v.trimStart();
  if ((anyJson || t.startsWith('{') || t.startsWith('[')) && !/\\u(0000|d[89a-f])/i.test(v)) {
    try {
      return boundDepth(JSON.parse(v), 32);
    } catch {
      return v;
    }
  }
  return v;
}

const AI_SDK_MODEL_OPS =
  /^ai\.(generateText|streamText|generateObject|streamObject)\.do(Generate|Stream)$|^ai\.embed(Many)?\.doEmbed$/;
const AI_SDK_FRAMES = /^ai\.(generateText|streamText|generateObject|streamObject|embed|embedMany)$/;

function aiSdk(a: Attrs, span: OtlpSpan): Meaning | undefined {
  const op = str(a['ai.operationId']) ?? (span.name.startsWith('ai.') ? span.name.split(' ')[0] : undefined);
  if (!op?.startsWith('ai.')) return undefined;
  if (AI_SDK_MODEL_OPS.test(op)) {
    const output =
      a['ai.response.toolCalls'] !== undefined
        ? { text: str(a['ai.response.text']) ?? null, tool_calls: parsed(a['ai.response.toolCalls']) }
        : (parsed(a['ai.response.object']) ?? str(a['ai.response.text']) ?? null);
    return {
      type: 'step',
      step: {
        kind: 'model',
        name: str(a['ai.response.model']) ?? str(a['gen_ai.response.model']) ?? str(a['ai.model.id']) ?? op,
        provider: str(a['ai.model.provider'])?.split('.')[0],
        input: parsed(a['ai.prompt.messages'] ?? a['ai.values']) ?? null,
        output,
        promptTokens: num(
          a['ai.usage.inputTokens'],
          a['ai.usage.promptTokens'],
          a['gen_ai.usage.input_tokens'],
        ),
        completionTokens: num(
          a['ai.usage.outputTokens'],
          a['ai.usage.completionTokens'],
          a['gen_ai.usage.output_tokens'],
        ),
      },
    };
  }
  if (op === 'ai.toolCall') {
    return {
      type: 'step',
      step: {
        kind: 'tool',
        name: str(a['ai.toolCall.name']) ?? 'tool',
        toolCallId: str(a['ai.toolCall.id']),
        // The AI SDK writes a tool's arguments and result as JSON whatever they are (a string too).
        input: parsed(a['ai.toolCall.args'] ?? a['ai.toolCall.input'], true),
        output: parsed(a['ai.toolCall.result'] ?? a['ai.toolCall.output'], true),
        promptTokens: 0,
        completionTokens: 0,
      },
    };
  }
  if (AI_SDK_FRAMES.test(op)) {
    return {
      type: 'frame',
      input: parsed(a['ai.prompt'] ?? a['ai.value'] ?? a['ai.values']),
      output: str(a['ai.response.text']) ?? parsed(a['ai.response.object']) ?? null,
    };
  }
  return undefined;
}

/** OpenInference flattens lists into `prefix.N.rest` keys: the items, in index order. */
function flattened(a: Attrs, prefix: string): Attrs[] {
  const items: Attrs[] = [];
  for (const [k, v] of Object.entries(a)) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)$/.exec(k.slice(prefix.length));
    if (!m) continue;
    const i = Number(m[1]);
    if (i > 1000) continue;
    items[i] ??= {};
    items[i]![m[2]!] = v;
  }
  return items.filter(Boolean);
}

function messagesOf(a: Attrs, prefix: string): unknown[] | undefined {
  const items = flattened(a, prefix).map((m) => ({
    role: m['message.role'] ?? null,
    content: m['message.content'] ?? null,
  }));
  return items.length > 0 ? items : undefined;
}

function openInference(a: Attrs): Meaning | undefined {
  const kind = str(a['openinference.span.kind'])?.toUpperCase();
  if (!kind) return undefined;
  const input = parsed(a['input.value']);
  const output = parsed(a['output.value']);
  if (kind === 'LLM' || kind === 'EMBEDDING') {
    return {
      type: 'step',
      step: {
        kind: 'model',
        name: str(a['llm.model_name']) ?? str(a['embedding.model_name']) ?? 'llm',
        provider: str(a['llm.provider']) ?? str(a['llm.system']),
        input: messagesOf(a, 'llm.input_messages.') ?? input,
        output: messagesOf(a, 'llm.output_messages.') ?? output,
        promptTokens: num(a['llm.token_count.prompt']),
        completionTokens: num(a['llm.token_count.completion']),
      },
    };
  }
  if (kind === 'TOOL') {
    return {
      type: 'step',
      step: {
        kind: 'tool',
        name: str(a['tool.name']) ?? 'tool',
        toolCallId: str(a['tool_call.id']),
        input: parsed(a['tool.parameters']) ?? input,
        output,
        promptTokens: 0,
        completionTokens: 0,
      },
    };
  }
  if (kind === 'RETRIEVER') {
    const documents = flattened(a, 'retrieval.documents.').map((d) => ({
      id: d['document.id'] ?? null,
      content: d['document.content'] ?? null,
      score: d['document.score'] ?? null,
    }));
    return {
      type: 'step',
      step: {
        kind: 'retrieval',
        name: str(a['retriever.name']) ?? 'retriever',
        input,
        output: documents.length > 0 ? { documents } : output,
        promptTokens: 0,
        completionTokens: 0,
      },
    };
  }
  return { type: 'frame', input, output };
}

const GENAI_MODEL_OPS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings', 'completion']);

/** The GenAI conventions' prompt and answer: attributes in 1.37+, events before. */
function genAiMessages(a: Attrs, span: OtlpSpan): { input: unknown; output: unknown } {
  const input =
    parsed(a['gen_ai.input.messages']) ??
    parsed(a['gen_ai.prompt']) ??
    (span.events
      .filter((e) => /^gen_ai\.(system|user|assistant|tool)\.message$/.test(e.name))
      .map((e) => ({
        role: e.name.split('.')[1],
        content: parsed(e.attributes.content),
      })) ||
      null);
  const choices = span.events
    .filter((e) => e.name === 'gen_ai.choice')
    .map((e) => parsed(e.attributes.message ?? e.attributes.content));
  const output =
    parsed(a['gen_ai.output.messages']) ??
    parsed(a['gen_ai.completion']) ??
    (choices.length > 0 ? choices : null);
  return { input: Array.isArray(input) && input.length === 0 ? null : input, output };
}

function genAi(a: Attrs, span: OtlpSpan): Meaning | undefined {
  const op = str(a['gen_ai.operation.name']);
  if (op === 'execute_tool' || (!op && str(a['gen_ai.tool.name']))) {
    return {
      type: 'step',
      step: {
        kind: 'tool',
        name: str(a['gen_ai.tool.name']) ?? 'tool',
        toolCallId: str(a['gen_ai.tool.call.id']),
        input: parsed(a['gen_ai.tool.call.arguments']) ?? null,
        output: parsed(a['gen_ai.tool.call.result']) ?? null,
        promptTokens: 0,
        completionTokens: 0,
      },
    };
  }
  if (op === 'invoke_agent' || op === 'create_agent' || op === 'invoke_workflow') {
    return { type: 'frame', ...genAiMessages(a, span) };
  }
  const model = str(a['gen_ai.response.model']) ?? str(a['gen_ai.request.model']);
  if ((op && GENAI_MODEL_OPS.has(op)) || model) {
    return {
      type: 'step',
      step: {
        kind: 'model',
        name: model ?? op ?? 'model',
        provider: str(a['gen_ai.provider.name']) ?? str(a['gen_ai.system']),
        ...genAiMessages(a, span),
        promptTokens: num(a['gen_ai.usage.input_tokens'], a['gen_ai.usage.prompt_tokens']),
        completionTokens: num(a['gen_ai.usage.output_tokens'], a['gen_ai.usage.completion_tokens']),
      },
    };
  }
  return undefined;
}

export function meaningOf(span: OtlpSpan): Meaning {
  const a = span.attributes;
  return aiSdk(a, span) ?? openInference(a) ?? genAi(a, span) ?? null;
}

/** The text of a prompt or an answer, for the run's `input` and `output`: the last user or assistant words. */
export function textOf(v: unknown, role: 'user' | 'assistant'): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    const inner = parsed(v);
    return inner === v ? v : textOf(inner, role);
  }
  if (Array.isArray(v)) {
    const messages = v.filter((m): m is Attrs => typeof m === 'object' && m !== null);
    const mine = messages.filter((m) => m.role === role).at(-1) ?? messages.at(-1);
    return mine ? textOf(mine, role) : null;
  }
  if (typeof v === 'object') {
    const o = v as Attrs;
    if (typeof o.prompt === 'string') return o.prompt;
    if (Array.isArray(o.messages)) return textOf(o.messages, role);
    if (typeof o.text === 'string') return o.text;
    if (typeof o.content === 'string') return o.content;
    if (Array.isArray(o.content) || Array.isArray(o.parts)) {
      const parts = ((o.content ?? o.parts) as unknown[])
        .map((p) => (typeof p === 'string' ? p : ((p as Attrs)?.text ?? (p as Attrs)?.content)))
        .filter((t): t is string => typeof t === 'string');
      if (parts.length > 0) return parts.join('');
    }
    return JSON.stringify(v);
  }
  return String(v);
}
