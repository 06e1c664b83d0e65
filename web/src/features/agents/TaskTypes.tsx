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
  errors,
  editable,
}: {
  value: TaskTypeDraft[];
  onChange: (v: TaskTypeDraft[]) => void;
  errors: Map<string, string>;
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
        const nameError = errors.get(`task_types.${i}.name`);
        const schemaError = errors.get(`task_types.${i}.schema`);
        const key = `tt-${i}`;
        return (
          <div key={key} className="task-type">
            <label htmlFor={`${key}-name`}>Name</label>
            <input
              id={`${key}-name`}
              value={t.name}
              aria-invalid={Boolean(nameError)}
              aria-describedby={nameError ? `${key}-name-error` : undefined}
              onChange={(e) => set(i, { name: e.target.value })}
            />
            {nameError ? (
              <p id={`${key}-name-error`} className="field-error">
                {nameError}
              </p>
            ) : null}
            <label htmlFor={`${key}-description`}>Description</label>
            <input
              id={`${key}-description`}
              value={t.description}
              onChange={(e) => set(i, { description: e.target.value })}
            />
            <label htmlFor={`${key}-schema`}>Input schema (JSON Schema)</label>
            <textarea
              id={`${key}-schema`}
              rows={6}
              className="code"
              spellCheck={false}
              value={t.schemaText}
              placeholder={exampleSchema}
              aria-invalid={Boolean(schemaError)}
              aria-describedby={schemaError ? `${key}-schema-error` : undefined}
              onChange={(e) => set(i, { schemaText: e.target.value })}
            />
            {schemaError ? (
              <p id={`${key}-schema-error`} className="field-error">
                {schemaError}
              </p>
            ) : null}
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
