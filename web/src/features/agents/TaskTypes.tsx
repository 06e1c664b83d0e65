import { FieldError } from '../../components/FieldError';
import type { FieldErrors } from '../../lib/field-errors';
import type { TaskTypeDraft } from './draft';

const exampleSchema = JSON.stringify(
  { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
  null,
  2,
);

/** The agent's task types: a name, a description, a JSON Schema for the payload, a prompt template. */
export function TaskTypes({
  value,
  onChange,
  form,
  editable,
}: {
  value: TaskTypeDraft[];
  onChange: (v: TaskTypeDraft[]) => void;
  /** The agent form's problems, filed under `task_types.<i>.name` and `.schema`. */
  form: FieldErrors;
  editable: boolean;
}) {
  const set = (i: number, patch: Partial<TaskTypeDraft>) =>
    onChange(value.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  return (
    <fieldset>
      <legend>Task types</legend>
      {value.length === 0 ? (
        <p className="muted">
          None: tasks for this agent may have any type. Add one to check task payloads against a JSON Schema.
        </p>
      ) : null}
      {value.map((t, i) => {
        const name = form.input(`task_types.${i}.name`);
        const schema = form.input(`task_types.${i}.schema`);
        const key = `tt-${i}`;
        return (
          <div key={key} className="task-type">
            <label htmlFor={name.id}>Name</label>
            <input {...name} value={t.name} onChange={(e) => set(i, { name: e.target.value })} />
            <FieldError form={form} k={`task_types.${i}.name`} />
            <label htmlFor={`${key}-description`}>Description</label>
            <input
              id={`${key}-description`}
              value={t.description}
              onChange={(e) => set(i, { description: e.target.value })}
            />
            <label htmlFor={schema.id}>Input schema (JSON Schema)</label>
            <textarea
              {...schema}
              rows={6}
              className="code"
              spellCheck={false}
              value={t.schemaText}
              placeholder={exampleSchema}
              onChange={(e) => set(i, { schemaText: e.target.value })}
            />
            <FieldError form={form} k={`task_types.${i}.schema`} />
            <label htmlFor={`${key}-prompt`}>Prompt template</label>
            <textarea
              id={`${key}-prompt`}
              rows={2}
              value={t.prompt_template}
              placeholder="{{title}}: {{description}}"
              onChange={(e) => set(i, { prompt_template: e.target.value })}
            />
            {editable ? (
              <button
                type="button"
                className="secondary"
                onClick={() => onChange(value.filter((_, j) => j !== i))}
              >
                Remove task type {t.name || i + 1}
              </button>
            ) : null}
          </div>
        );
      })}
      {editable ? (
        <button
          type="button"
          className="secondary"
          onClick={() =>
            onChange([...value, { name: '', description: '', schemaText: '', prompt_template: '' }])
          }
        >
          Add a task type
        </button>
      ) : null}
    </fieldset>
  );
}
