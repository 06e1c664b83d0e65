/**
 * A kind's parameters as form fields, read from the JSON Schema GET /v1/evaluators/kinds gives:
 * text, a number, yes/no, or JSON for anything else (an object, a string or a list). Values stay
 * text while typed; each field's key is the API's path (`spec.pattern`), so the server's 400 on a
 * parameter lands under it.
 */

interface Prop {
  type?: string;
  properties?: Record<string, unknown>;
  anyOf?: Prop[];
  maxLength?: number;
  default?: unknown;
}
/** `either`: text, or a JSON list or object (`contains`' value: one string or several). */
export type ParamType = 'text' | 'longtext' | 'number' | 'boolean' | 'either' | 'json';
export interface Param {
  name: string;
  type: ParamType;
  required: boolean;
  hint?: string;
}

/** How a parameter is typed in: its JSON Schema type, or JSON for what a field cannot hold. */
function typeOf(p: Prop): ParamType {
  if (p.type === 'string') return (p.maxLength ?? 0) > 2000 ? 'longtext' : 'text';
  if (p.type === 'number' || p.type === 'integer') return 'number';
  if (p.type === 'boolean') return 'boolean';
  return p.anyOf?.some((x) => x.type === 'string') ? 'either' : 'json';
}

/** What the field's hint says: the shape JSON takes, or the default the server fills in. */
function hintOf(type: ParamType, p: Prop): string | undefined {
  if (type === 'either') return 'Text, or a JSON list: ["a", "b"].';
  if (type === 'json') {
    const keys = Object.keys(p.properties ?? {}).map((k) => `"${k}": …`);
    return keys.length > 0 ? `JSON: {${keys.join(', ')}}.` : 'A JSON object.';
  }
  return p.default !== undefined ? `Default: ${JSON.stringify(p.default)}.` : undefined;
}

/** The parameters of a kind's JSON Schema, required ones first. */
export function paramsOf(schema: Record<string, unknown>): Param[] {
  const props = (schema.properties ?? {}) as Record<string, Prop>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props)
    .map(([name, p]) => {
      const type = typeOf(p);
      const hint = hintOf(type, p);
      return { name, type, required: required.has(name), ...(hint && { hint }) };
    })
    .sort((a, b) => Number(b.required) - Number(a.required));
}

export type Values = Record<string, string>;

/** A stored spec's parameters as the form's text. */
export function valuesOf(spec: Record<string, unknown>, params: Param[]): Values {
  const out: Values = {};
  for (const p of params) {
    const v = spec[p.name];
    if (v === undefined) continue;
    out[p.name] =
      p.type === 'json' || (p.type === 'either' && typeof v !== 'string')
        ? JSON.stringify(v, null, 2)
        : String(v);
  }
  return out;
}

/** What is wrong with the typed values, by the field's key (`spec.<name>`); the server checks the rest. */
export function paramProblems(params: Param[], values: Values): Map<string, string> {
  const p = new Map<string, string>();
  for (const param of params) {
    const v = (values[param.name] ?? '').trim();
    const k = `spec.${param.name}`;
    if (!v) {
      if (param.required) p.set(k, `${param.name} is required for this kind.`);
      continue;
    }
    if (param.type === 'number' && !Number.isFinite(Number(v))) p.set(k, 'A number.');
    if (param.type === 'json' || (param.type === 'either' && /^[[{]/.test(v))) {
      try {
        JSON.parse(v);
      } catch (e) {
        p.set(k, `Not JSON: ${(e as Error).message}`);
      }
    }
  }
  return p;
}

/** The spec to send: the kind and each parameter given, typed (call once `paramProblems` is empty). */
export function specOf(type: string, params: Param[], values: Values): Record<string, unknown> {
  const spec: Record<string, unknown> = { type };
  for (const param of params) {
    const raw = values[param.name] ?? '';
    if (!raw.trim()) continue;
    spec[param.name] =
      param.type === 'number'
        ? Number(raw.trim())
        : param.type === 'boolean'
          ? raw === 'true'
          : param.type === 'json' || (param.type === 'either' && /^\s*[[{]/.test(raw))
            ? JSON.parse(raw)
            : raw;
  }
  return spec;
}
