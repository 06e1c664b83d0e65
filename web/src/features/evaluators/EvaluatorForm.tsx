import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { useFieldErrors } from '../../lib/field-errors';
import { type Param, paramProblems, paramsOf, specOf, type Values, valuesOf } from './params';
import type { Kind } from './queries';

/** The server's rule for a named evaluator's name (eval/evaluators/registry.ts `evaluatorNamePattern`). */
const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

export interface Written {
  name: string;
  description: string;
  spec: Record<string, unknown>;
  message: string;
}

/**
 * A named evaluator's version: the kind (from GET /v1/evaluators/kinds), its parameters as fields,
 * a description; for a new evaluator its name, for a new version a note on what changed.
 */
export function EvaluatorForm({
  kinds,
  initial,
  isNew,
  submitLabel,
  busy,
  error,
  onSubmit,
}: {
  kinds: Kind[];
  initial?: { description: string; spec: Record<string, unknown> };
  isNew: boolean;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (w: Written) => void;
}) {
  const first = (initial?.spec.type as string | undefined) ?? kinds[0]?.type ?? '';
  const [name, setName] = useState('');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [message, setMessage] = useState('');
  const [type, setType] = useState(first);
  const kind = kinds.find((k) => k.type === type);
  const params = kind ? paramsOf(kind.params) : [];
  const [values, setValues] = useState<Values>(() => (initial ? valuesOf(initial.spec, params) : {}));
  const form = useFieldErrors({ error });

  const problems = () => {
    const p = paramProblems(params, values);
    if (isNew) {
      if (!name) p.set('name', 'Name the evaluator (experiments pick it by this name).');
      else if (name === 'kinds') p.set('name', '“kinds” is taken by the list of kinds.');
      else if (!NAME.test(name))
        p.set('name', 'Lower-case letters, digits, ".", "_" and "-", starting with a letter or digit.');
    }
    if (!kind) p.set('spec.type', 'Pick a kind.');
    return p;
  };
  return (
    <form
      className="stack"
      aria-label={isNew ? 'New evaluator' : 'New version'}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!form.check(problems())) return;
        // A score name the API gave the spec (the form has no field for it) carries over to the next version.
        const scoreName = typeof initial?.spec.name === 'string' ? { name: initial.spec.name } : {};
        onSubmit({ name, description, message, spec: { ...specOf(type, params, values), ...scoreName } });
      }}
    >
      {isNew ? (
        <div className="field">
          <label htmlFor={form.input('name').id}>Name</label>
          <input {...form.bind('name', setName)} value={name} />
          <p className="muted hint">Its scores carry this name; it never changes.</p>
          <FieldError form={form} k="name" />
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={form.input('description').id}>Description (optional)</label>
        <input {...form.bind('description', setDescription)} value={description} />
        <FieldError form={form} k="description" />
      </div>
      <div className="field">
        <label htmlFor={form.input('spec.type').id}>Kind</label>
        <select
          {...form.bind('spec.type', (t) => {
            setType(t);
            // Parameters of the same name carry over (a judge's model and rubric); the rest go.
            form.changed('spec');
          })}
          value={type}
        >
          {kinds.map((k) => (
            <option key={k.type} value={k.type}>
              {k.type}
            </option>
          ))}
        </select>
        {kind ? <p className="muted hint">{kind.description}</p> : null}
        <FieldError form={form} k="spec.type" />
      </div>
      <fieldset {...form.input('spec')} tabIndex={-1}>
        <legend>Parameters</legend>
        {params.length === 0 ? <p className="muted">This kind takes no parameters.</p> : null}
        {params.map((p) => (
          <ParamField
            key={`${type}.${p.name}`}
            param={p}
            form={form}
            value={values[p.name] ?? ''}
            onChange={(v) => setValues((x) => ({ ...x, [p.name]: v }))}
          />
        ))}
      </fieldset>
      <FieldError form={form} k="spec" />
      {isNew ? null : (
        <div className="field">
          <label htmlFor={form.input('message').id}>What changed (optional)</label>
          <input {...form.bind('message', setMessage)} value={message} />
          <FieldError form={form} k="message" />
        </div>
      )}
      <div>
        <BusyButton type="submit" busy={busy} busyReason="Saving the evaluator…">
          {submitLabel}
        </BusyButton>
      </div>
      <FormProblems form={form} />
      <ErrorNote error={form.unplaced(error)} />
    </form>
  );
}

function ParamField({
  param,
  form,
  value,
  onChange,
}: {
  param: Param;
  form: ReturnType<typeof useFieldErrors>;
  value: string;
  onChange: (v: string) => void;
}) {
  const k = `spec.${param.name}`;
  const label = `${param.name}${param.required ? ' *' : ''}`;
  const input =
    param.type === 'boolean' ? (
      <select {...form.bind(k, onChange)} value={value}>
        <option value="">default</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    ) : param.type === 'text' || param.type === 'number' ? (
      <input
        {...form.bind(k, onChange)}
        inputMode={param.type === 'number' ? 'decimal' : undefined}
        value={value}
      />
    ) : (
      <textarea
        {...form.bind(k, onChange)}
        className={param.type === 'longtext' ? undefined : 'code'}
        rows={param.type === 'longtext' ? 5 : 3}
        spellCheck={param.type === 'longtext'}
        value={value}
      />
    );
  return (
    <div className="field">
      <label htmlFor={form.input(k).id}>{label}</label>
      {input}
      {param.hint ? <p className="muted hint">{param.hint}</p> : null}
      <FieldError form={form} k={k} />
    </div>
  );
}
