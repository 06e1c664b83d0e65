import { FieldError } from '../../components/FieldError';
import type { FieldErrors } from '../../lib/field-errors';

/** The part of JSON Schema the form understands: an object of strings, numbers, booleans, enums and string lists. */
export interface FieldSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  items?: { type?: string };
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

export type FormValues = Record<string, string | boolean>;
export type Problems = Record<string, string>;

const typeOf = (s: FieldSchema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);
const propsOf = (schema: FieldSchema) => Object.entries(schema.properties ?? {});

/**
 * The payload the form's values make, and the errors found on the way (field name → message): a
 * required field left empty, a number that is not one, a value out of range. The server checks the
 * payload against the full schema again and its 400 names fields the same way (`payload.<name>`).
 */
export function toPayload(
  schema: FieldSchema,
  values: FormValues,
): { payload: Record<string, unknown>; errors: Problems } {
  const payload: Record<string, unknown> = {};
  const errors: Problems = {};
  for (const [name, field] of propsOf(schema)) {
    const raw = values[name];
    const type = typeOf(field);
    const required = schema.required?.includes(name) ?? false;
    if (type === 'boolean') {
      if (raw !== undefined || required) payload[name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (required) errors[name] = 'required';
      continue;
    }
    if (type === 'number' || type === 'integer') {
      const n = Number(text);
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n)))
        errors[name] = `must be ${type === 'integer' ? 'a whole number' : 'a number'}`;
      else if (field.minimum !== undefined && n < field.minimum)
        errors[name] = `must be at least ${field.minimum}`;
      else if (field.maximum !== undefined && n > field.maximum)
        errors[name] = `must be at most ${field.maximum}`;
      else payload[name] = n;
    } else if (type === 'array') {
      payload[name] = text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    } else if (field.minLength !== undefined && text.length < field.minLength) {
      errors[name] = `must be at least ${field.minLength} characters`;
    } else if (field.maxLength !== undefined && text.length > field.maxLength) {
      errors[name] = `must be at most ${field.maxLength} characters`;
    } else {
      payload[name] = text;
    }
  }
  return { payload, errors };
}

/** One labelled input per property of an object schema, each with its inline error. */
export function SchemaForm({
  schema,
  values,
  form,
  onChange,
}: {
  schema: FieldSchema;
  values: FormValues;
  /** The task form's problems: each property's under `payload.<name>`, as the API's 400 names them. */
  form: FieldErrors;
  onChange: (values: FormValues) => void;
}) {
  const fields = propsOf(schema);
  if (fields.length === 0) return <p className="muted">This task type takes no payload fields.</p>;
  return (
    <div className="fields">
      {fields.map(([name, field]) => {
        const k = `payload.${name}`;
        const common = form.input(k);
        const type = typeOf(field);
        const required = schema.required?.includes(name) ?? false;
        const set = (v: string | boolean) => {
          onChange({ ...values, [name]: v });
          form.changed(k);
        };
        let input: React.ReactNode;
        if (type === 'boolean') {
          input = (
            <input
              type="checkbox"
              {...common}
              checked={values[name] === true}
              onChange={(e) => set(e.target.checked)}
            />
          );
        } else if (field.enum) {
          input = (
            <select {...common} value={String(values[name] ?? '')} onChange={(e) => set(e.target.value)}>
              <option value="">—</option>
              {field.enum.map((v) => (
                <option key={String(v)} value={String(v)}>
                  {String(v)}
                </option>
              ))}
            </select>
          );
        } else if (type === 'array') {
          input = (
            <textarea
              {...common}
              rows={3}
              value={String(values[name] ?? '')}
              onChange={(e) => set(e.target.value)}
            />
          );
        } else {
          input = (
            <input
              {...common}
              type={type === 'number' || type === 'integer' ? 'number' : 'text'}
              step={type === 'integer' ? 1 : 'any'}
              value={String(values[name] ?? '')}
              onChange={(e) => set(e.target.value)}
            />
          );
        }
        return (
          <div className="field" key={name}>
            <label htmlFor={common.id}>
              {field.title ?? name}
              {required ? ' *' : ''}
              {type === 'array' ? <span className="muted"> (one per line)</span> : null}
            </label>
            {input}
            {field.description ? <small className="muted">{field.description}</small> : null}
            <FieldError form={form} k={k} />
          </div>
        );
      })}
    </div>
  );
}
