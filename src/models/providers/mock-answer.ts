import type { ChatMessage, CompletionRequest, ToolSpec } from '../types.ts';
import { sampleValue } from './mock-json.ts';
import { MOCK_JUDGE_MODEL, mockJudgeAnswer } from './mock-judge.ts';
import { brokenRule, refusal } from './mock-rules.ts';

/**
 * What the mock model says, decided from the request alone (deterministic, no randomness):
 * 1. After a tool result, it reports the result: `The <tool> tool returned: <content>`.
 * 2. Persona constraints come before anything else the user asks: when a system message holds a rule
 *    line starting with "Never" (`- Never disable an alarm remotely: …`) and the last user message
 *    asks for that action (most of the action's content words, lightly stemmed: see mock-rules.ts),
 *    it refuses and cites the rule: `I can't do that. It would break one of my rules: "<rule>"`.
 * 3. When tools are offered (and tool_choice is not `none`) and the last user message names one of
 *    them (`use the calculator tool …`), or tool_choice forces one, it calls that tool with arguments
 *    taken from the prompt (a JSON object in it, else quoted text, an arithmetic expression, numbers).
 * 4. Simple arithmetic in the last user message (`what is 2 + 3 * 4?`) is answered with the number.
 * 5. Anything else is echoed: `You said: <text>`.
 * `mock/judge` is an evaluation judge instead (mock-judge.ts): a score and a reason as JSON.
 */
export interface MockAnswer {
  content: string | null;
  toolCalls: Array<{ name: string; arguments: string }>;
}

export function mockAnswer(request: CompletionRequest): MockAnswer {
  if (request.model === MOCK_JUDGE_MODEL) return { content: mockJudgeAnswer(request), toolCalls: [] };
  const last = request.messages.at(-1);
  if (last?.role === 'tool') {
    const name = toolNameOf(request.messages, last.tool_call_id) ?? 'tool';
    return { content: `The ${name} tool returned: ${last.content ?? ''}`, toolCalls: [] };
  }
  const text = lastUserText(request.messages);
  const broken = last?.role === 'user' ? brokenRule(request.messages, text) : undefined;
  if (broken) return { content: refusal(broken), toolCalls: [] };
  const tool = chooseTool(request, text);
  if (tool)
    return { content: null, toolCalls: [{ name: tool.function.name, arguments: argumentsFor(tool, text) }] };
  const expr = findArithmetic(text);
  if (expr) {
    const value = evaluate(expr);
    if (value !== undefined) return { content: formatNumber(value), toolCalls: [] };
  }
  return { content: `You said: ${text}`, toolCalls: [] };
}

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') return messages[i]!.content ?? '';
  }
  return '';
}

function toolNameOf(messages: readonly ChatMessage[], callId: string | undefined): string | undefined {
  for (const m of messages) {
    for (const c of m.tool_calls ?? []) if (c.id === callId) return c.function.name;
  }
  return undefined;
}

function chooseTool(request: CompletionRequest, text: string): ToolSpec | undefined {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (tools.length === 0 || choice === 'none') return undefined;
  if (typeof choice === 'object') return tools.find((t) => t.function.name === choice.function.name);
  const lower = text.toLowerCase();
  const named = tools.find((t) => {
    const name = t.function.name.toLowerCase();
    return mentions(lower, name) || mentions(lower, name.replaceAll('_', ' '));
  });
  return named ?? (choice === 'required' ? tools[0] : undefined);
}

function mentions(text: string, word: string): boolean {
  const at = text.indexOf(word);
  if (at < 0) return false;
  const before = text[at - 1];
  const after = text[at + word.length];
  return !(before && /\w/.test(before)) && !(after && /\w/.test(after));
}

function argumentsFor(tool: ToolSpec, text: string): string {
  const json = findJsonObject(text);
  if (json) return JSON.stringify(json);
  const schema = tool.function.parameters as
    | { properties?: Record<string, { type?: string } & Record<string, unknown>>; required?: string[] }
    | undefined;
  const properties = schema?.properties ?? {};
  const names = schema?.required?.length ? schema.required : Object.keys(properties).slice(0, 1);
  const quoted = /["'`“]([^"'`”]+)["'`”]/.exec(text)?.[1];
  const expr = findArithmetic(text);
  const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
  const args: Record<string, unknown> = {};
  for (const name of names) {
    const prop = properties[name] ?? {};
    const type = prop.type ?? 'string';
    // A number from the prompt, else one the schema allows (its minimum), as for anything else.
    if ((type === 'number' || type === 'integer') && numbers.length > 0) args[name] = numbers.shift();
    else if (type === 'string' && !prop.enum && !prop.format) args[name] = quoted ?? expr ?? text;
    else args[name] = sampleValue(prop, quoted ?? text);
  }
  return JSON.stringify(args);
}

function findJsonObject(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    const value = JSON.parse(text.slice(start, end + 1));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    // Not JSON between its braces: the text holds no object.
    return undefined;
  }
}

/** The longest run of numbers, operators and parentheses holding at least one binary operator. */
export function findArithmetic(text: string): string | undefined {
  let best: string | undefined;
  for (const m of text.matchAll(/[-(]*\s*\d[\d\s.+\-*/×÷^()]*/g)) {
    const candidate = m[0].trim().replace(/[\s+\-*/×÷^(]+$/, '');
    if (/\d\s*[-+*/×÷^]\s*[-(]*\s*\d/.test(candidate) && (!best || candidate.length > best.length)) {
      best = candidate;
    }
  }
  return best;
}

/** A recursive-descent evaluator for + - * / ^ and parentheses (never `eval`). */
export function evaluate(expr: string): number | undefined {
  const tokens =
    expr
      .replaceAll('×', '*')
      .replaceAll('÷', '/')
      .match(/\d+(?:\.\d+)?|[-+*/^()]/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const primary = (): number => {
    const t = next();
    if (t === '(') {
      const v = sum();
      if (next() !== ')') throw new Error('unbalanced');
      return v;
    }
    if (t === '-') return -primary();
    if (t === undefined || !/^\d/.test(t)) throw new Error('number expected');
    return Number(t);
  };
  const power = (): number => {
    const base = primary();
    if (peek() !== '^') return base;
    next();
    return base ** power();
  };
  const product = (): number => {
    let v = power();
    while (peek() === '*' || peek() === '/') v = next() === '*' ? v * power() : v / power();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = next() === '+' ? v + product() : v - product();
    return v;
  };
  try {
    const value = sum();
    return pos === tokens.length && Number.isFinite(value) ? value : undefined;
  } catch {
    // Not arithmetic this parser reads (`number expected`): no value to answer with.
    return undefined;
  }
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}
