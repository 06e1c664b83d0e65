import { parseObject, schemaTextProblem } from '../../lib/schema-check';
import type { Agent, AgentInput, Template } from '../../lib/types';

/** A task type as the form edits it: the schema as text, checked as JSON on every keystroke. */
export interface TaskTypeDraft {
  name: string;
  description: string;
  schemaText: string;
  prompt_template: string;
}

/** The limits of an agent's own budget, in the order the form shows them. */
export const budgetKeys = ['tokens_per_day', 'tokens_per_month', 'cost_per_day', 'cost_per_month'] as const;
type BudgetKey = (typeof budgetKeys)[number];
/** An agent's own budget as the form edits it: each limit as text, empty for none. */
export type BudgetDraft = Record<BudgetKey, string>;

const blankBudget = (): BudgetDraft => ({
  tokens_per_day: '',
  tokens_per_month: '',
  cost_per_day: '',
  cost_per_month: '',
});

/** The agent's answer format as the form edits it: free text, any JSON object, or JSON to a schema. */
export interface AnswerFormatDraft {
  type: 'text' | 'json_object' | 'json_schema';
  /** The schema's name (OpenAI requires one): letters, digits, "_" and "-". */
  name: string;
  schemaText: string;
}

const textAnswers = (): AnswerFormatDraft => ({ type: 'text', name: 'answer', schemaText: '' });

function answerFormatOf(f: Agent['response_format'] | undefined): AnswerFormatDraft {
  if (!f || f.type === 'text') return textAnswers();
  if (f.type === 'json_object') return { ...textAnswers(), type: 'json_object' };
  return {
    type: 'json_schema',
    name: f.json_schema.name,
    schemaText: f.json_schema.schema ? json(f.json_schema.schema) : '',
  };
}

/** The agent's editable fields as the form holds them. */
export interface Draft {
  name: string;
  description: string;
  model: string;
  system_prompt: string;
  tools: string[];
  skills: string[];
  mode: Agent['mode'];
  env: Agent['env'];
  knowledge: string[];
  task_types: TaskTypeDraft[];
  handoffs: string[];
  visibility: Agent['visibility'];
  runtime_url: string;
  multi_agent_id: string;
  metadataText: string;
  response_format: AnswerFormatDraft;
  /** Its own budget: an admin's to change (the server refuses it from other keys). */
  budget: BudgetDraft;
}
export type Field = keyof Draft;

export const blankDraft = (model = ''): Draft => ({
  name: '',
  description: '',
  model,
  system_prompt: 'You are a helpful assistant.',
  tools: [],
  skills: [],
  mode: 'REACTIVE',
  env: 'in_process',
  knowledge: [],
  task_types: [],
  handoffs: [],
  visibility: 'private',
  runtime_url: '',
  multi_agent_id: '',
  metadataText: '{}',
  response_format: textAnswers(),
  budget: blankBudget(),
});

const json = (v: unknown) => JSON.stringify(v ?? {}, null, 2);

function taskTypesOf(list: Agent['task_types']): TaskTypeDraft[] {
  return list.map((t) => ({
    name: t.name,
    description: t.description ?? '',
    schemaText: t.input_schema ? json(t.input_schema) : '',
    prompt_template: t.prompt_template ?? '',
  }));
}

export function draftOfAgent(a: Agent): Draft {
  return {
    name: a.name,
    description: a.description,
    model: a.model,
    system_prompt: a.system_prompt,
    tools: a.tools,
    skills: a.skills,
    mode: a.mode,
    env: a.env,
    knowledge: a.knowledge,
    task_types: taskTypesOf(a.task_types),
    handoffs: a.handoffs,
    visibility: a.visibility,
    runtime_url: a.runtime_url ?? '',
    multi_agent_id: a.multi_agent_id ?? '',
    metadataText: json(a.metadata),
    response_format: answerFormatOf(a.response_format),
    budget: Object.fromEntries(
      budgetKeys.map((k) => [k, a.budget?.[k] === undefined ? '' : String(a.budget[k])]),
    ) as BudgetDraft,
  };
}

/** An agent as POST /v1/agents would take it (a generated draft's) in the form. */
export function draftOfInput(a: AgentInput, defaultModel: string): Draft {
  const blank = blankDraft(a.model ?? defaultModel);
  return {
    ...blank,
    name: a.name ?? '',
    description: a.description ?? '',
    system_prompt: a.system_prompt ?? blank.system_prompt,
    tools: a.tools ?? [],
    skills: a.skills ?? [],
    mode: a.mode ?? blank.mode,
    env: a.env ?? blank.env,
    knowledge: a.knowledge ?? [],
    handoffs: a.handoffs ?? [],
    task_types: taskTypesOf(a.task_types ?? []),
    metadataText: json(a.metadata),
    response_format: answerFormatOf(a.response_format),
  };
}

/** A template's values in the form; the name is left for the user (names are unique per tenant). */
export function draftOfTemplate(t: Template, defaultModel: string): Draft {
  return {
    ...blankDraft(t.model ?? defaultModel),
    description: t.description,
    system_prompt: t.system_prompt,
    tools: t.tools,
    skills: t.skills,
    mode: t.mode,
    env: t.env,
    task_types: taskTypesOf(t.task_types),
    metadataText: json(t.metadata),
  };
}

/** A budget's limits as the API takes them; null when none is set (tenants.yaml alone applies). */
function budgetOf(b: BudgetDraft): Partial<Record<BudgetKey, number>> | null {
  const set = budgetKeys.filter((k) => b[k].trim() !== '');
  return set.length ? Object.fromEntries(set.map((k) => [k, Number(b[k])])) : null;
}

/**
 * Every problem the form knows before sending, by field, so each shows beside its input. Schemas
 * are held to the server's own bounds here; whether they compile, the server's check route says.
 */
export function problems(d: Draft): Map<string, string> {
  const p = new Map<string, string>();
  if (!d.name.trim()) p.set('name', 'A name is required.');
  if (!d.model.trim()) p.set('model', 'Pick a model.');
  const meta = parseObject(d.metadataText);
  if (meta.error) p.set('metadataText', `Metadata ${meta.error}.`);
  const answers = d.response_format;
  if (answers.type === 'json_schema') {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(answers.name))
      p.set('response_format.name', 'Letters, digits, "_" and "-", at most 64.');
    const s = schemaTextProblem(answers.schemaText);
    if (s) p.set('response_format.schema', s);
  }
  d.task_types.forEach((t, i) => {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(t.name))
      p.set(`task_types.${i}.name`, 'snake_case, starting with a letter.');
    const s = schemaTextProblem(t.schemaText);
    if (s) p.set(`task_types.${i}.schema`, s);
  });
  for (const k of budgetKeys) {
    const text = d.budget[k].trim();
    if (!text) continue;
    const n = Number(text);
    if (k.startsWith('tokens') ? !Number.isSafeInteger(n) || n <= 0 : !Number.isFinite(n) || n <= 0)
      p.set(
        `budget.${k}`,
        k.startsWith('tokens') ? 'A whole number above 0, or empty.' : 'A number above 0, or empty.',
      );
  }
  return p;
}

/** The answer format as the API takes it; null for free text. */
function answerFormatBody(f: AnswerFormatDraft) {
  if (f.type === 'text') return null;
  if (f.type === 'json_object') return { type: 'json_object' as const };
  const schema = parseObject(f.schemaText).value;
  return { type: 'json_schema' as const, json_schema: { name: f.name, ...(schema && { schema }) } };
}

/** The API body of the fields listed (all of them for a blank agent, the changed ones otherwise). */
export function bodyOf(d: Draft, fields: Iterable<Field>): Partial<AgentInput> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    switch (f) {
      case 'task_types':
        out.task_types = d.task_types.map((t) => ({
          name: t.name,
          ...(t.description && { description: t.description }),
          ...(t.schemaText.trim() && { input_schema: parseObject(t.schemaText).value }),
          ...(t.prompt_template && { prompt_template: t.prompt_template }),
        }));
        break;
      case 'metadataText':
        out.metadata = parseObject(d.metadataText).value ?? {};
        break;
      case 'runtime_url':
        out.runtime_url = d.runtime_url.trim() || null;
        break;
      case 'multi_agent_id':
        out.multi_agent_id = d.multi_agent_id || null;
        break;
      case 'budget':
        out.budget = budgetOf(d.budget);
        break;
      case 'response_format':
        out.response_format = answerFormatBody(d.response_format);
        break;
      default:
        out[f] = d[f];
    }
  }
  return out as Partial<AgentInput>;
}

/**
 * The fields a blank agent sends. Its own budget goes only when one was entered: sending it at all
 * needs the admin scope, and an agent has none by default.
 */
export const fieldsOfNew = (dirty: Set<Field>) =>
  (Object.keys(blankDraft()) as Field[]).filter((f) => f !== 'budget' || dirty.has('budget'));

/** Where a path of the API's 400 lands in the form, where its key differs from the path. */
export function fieldOfPath(path: string): string | undefined {
  const [head, a, b] = path.split('.');
  if (head === 'metadata') return 'metadataText';
  if (head === 'response_format' && a === 'json_schema' && (b === 'schema' || b === 'name'))
    return `response_format.${b}`;
  if (head === 'task_types' && a !== undefined && /^\d+$/.test(a))
    return b === 'input_schema'
      ? `task_types.${a}.schema`
      : b === 'name'
        ? `task_types.${a}.name`
        : 'task_types';
  return undefined;
}

/** The form's keys a change of field `k` from `was` to `now` touches: their problems go. */
export function partsChanged<K extends Field>(k: K, was: Draft[K], now: Draft[K]): string[] {
  if (k === 'response_format') {
    const [x, y] = [was as AnswerFormatDraft, now as AnswerFormatDraft];
    return [
      ...(x.type !== y.type ? ['response_format'] : []),
      ...(x.name !== y.name ? ['response_format.name'] : []),
      ...(x.schemaText !== y.schemaText ? ['response_format.schema'] : []),
    ];
  }
  if (k === 'budget')
    return budgetKeys
      .filter((b) => (was as BudgetDraft)[b] !== (now as BudgetDraft)[b])
      .map((b) => `budget.${b}`);
  if (k === 'task_types') {
    const [x, y] = [was as TaskTypeDraft[], now as TaskTypeDraft[]];
    // A task type added or removed renumbers the rest: every problem of the list goes.
    if (x.length !== y.length) return ['task_types'];
    return y.flatMap((t, i) => [
      ...(t.name !== x[i]?.name ? [`task_types.${i}.name`] : []),
      ...(t.schemaText !== x[i]?.schemaText ? [`task_types.${i}.schema`] : []),
    ]);
  }
  return [k];
}
