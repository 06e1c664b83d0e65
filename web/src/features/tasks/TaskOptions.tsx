import { FieldError } from '../../components/FieldError';
import type { FieldErrors } from '../../lib/field-errors';
import type { Problems } from './SchemaForm';

/** The task fields beside its payload, as typed (strings; empty means "not sent"). */
export interface TaskOptionValues {
  priority: string;
  run_at: string;
  max_attempts: string;
  callback_url: string;
  idempotency_key: string;
}
export const noOptions: TaskOptionValues = {
  priority: '',
  run_at: '',
  max_attempts: '',
  callback_url: '',
  idempotency_key: '',
};

type Body = {
  priority?: number;
  run_at?: string;
  max_attempts?: number;
  callback_url?: string;
  idempotency_key?: string;
};

/** Checks the options as POST /v1/tasks does and turns them into its body's fields. */
export function toOptions(v: TaskOptionValues): { body: Body; errors: Problems } {
  const body: Body = {};
  const errors: Problems = {};
  const int = (name: 'priority' | 'max_attempts', min: number, max: number) => {
    const raw = v[name].trim();
    if (!raw) return;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) errors[name] = `a whole number from ${min} to ${max}`;
    else body[name] = n;
  };
  int('priority', -1000, 1000);
  int('max_attempts', 1, 100);
  if (v.run_at) {
    // datetime-local is the browser's local time: sent as the instant it names.
    const at = new Date(v.run_at);
    if (Number.isNaN(at.getTime())) errors.run_at = 'a date and time';
    else body.run_at = at.toISOString();
  }
  const url = v.callback_url.trim();
  if (url) {
    if (!/^https?:\/\/[^\s]+$/i.test(url) || !URL.canParse(url)) errors.callback_url = 'an http(s) URL';
    else body.callback_url = url;
  }
  const key = v.idempotency_key.trim();
  if (key.length > 200) errors.idempotency_key = 'at most 200 characters';
  else if (key) body.idempotency_key = key;
  return { body, errors };
}

const FIELDS: Array<{ name: keyof TaskOptionValues; label: string; type: string; hint: string }> = [
  { name: 'priority', label: 'Priority', type: 'number', hint: 'Higher runs first; 0 when empty.' },
  { name: 'run_at', label: 'Run at', type: 'datetime-local', hint: 'Not before this time; now when empty.' },
  { name: 'max_attempts', label: 'Attempts', type: 'number', hint: 'Tries before it fails for good.' },
  {
    name: 'callback_url',
    label: 'Callback URL',
    type: 'url',
    hint: 'Told of the outcome with a signed POST.',
  },
  {
    name: 'idempotency_key',
    label: 'Idempotency key',
    type: 'text',
    hint: 'A second task with the same key is the first one.',
  },
];

/** The task's own fields, each labelled, with its hint and its error under it. */
export function TaskOptions({
  values,
  form,
  onChange,
}: {
  values: TaskOptionValues;
  /** The task form's problems, under each option's name as the API's 400 names them. */
  form: FieldErrors;
  onChange: (values: TaskOptionValues) => void;
}) {
  return (
    <fieldset>
      <legend>Scheduling and delivery</legend>
      {FIELDS.map((f) => {
        const input = form.bind(f.name, (v) => onChange({ ...values, [f.name]: v }));
        return (
          <div className="field" key={f.name}>
            <label htmlFor={input.id}>{f.label}</label>
            <input
              {...input}
              type={f.type}
              value={values[f.name]}
              aria-describedby={[`${input.id}-hint`, input['aria-describedby']].filter(Boolean).join(' ')}
            />
            <small id={`${input.id}-hint`} className="muted">
              {f.hint}
            </small>
            <FieldError form={form} k={f.name} />
          </div>
        );
      })}
    </fieldset>
  );
}
