import { FieldError } from '../../components/FieldError';
import type { FieldErrors } from '../../lib/field-errors';
import type { AnswerFormatDraft } from './draft';

const answerTypes = {
  text: 'Free text',
  json_object: 'A JSON object',
  json_schema: 'JSON matching a schema',
} as const;

/** How every answer of the agent is shaped; a JSON answer is checked, and asked for again once. */
export function AnswerFormat({
  value,
  onChange,
  form,
}: {
  value: AnswerFormatDraft;
  onChange: (v: AnswerFormatDraft) => void;
  /** The agent form's problems: each input's id and wiring, and the problem under it. */
  form: FieldErrors;
}) {
  return (
    <fieldset className="plain">
      <legend className="label">Answers</legend>
      <div className="field">
        <label htmlFor={form.input('response_format').id}>Answer format</label>
        <select
          {...form.input('response_format')}
          value={value.type}
          onChange={(e) => onChange({ ...value, type: e.target.value as AnswerFormatDraft['type'] })}
        >
          {Object.entries(answerTypes).map(([k, label]) => (
            <option key={k} value={k}>
              {label}
            </option>
          ))}
        </select>
        <p className="muted hint">
          A JSON answer is checked; one that does not fit is asked for again once, then the run fails. A chat
          request’s own response_format replaces this for its run.
        </p>
      </div>
      {value.type === 'json_schema' ? (
        <div className="grid2">
          <div className="field">
            <label htmlFor={form.input('response_format.name').id}>Schema name</label>
            <input
              {...form.input('response_format.name')}
              value={value.name}
              onChange={(e) => onChange({ ...value, name: e.target.value })}
            />
            <FieldError form={form} k="response_format.name" />
          </div>
          <div className="field">
            <label htmlFor={form.input('response_format.schema').id}>JSON Schema</label>
            <textarea
              {...form.input('response_format.schema')}
              className="code"
              rows={5}
              spellCheck={false}
              value={value.schemaText}
              placeholder='{"type": "object", "properties": {…}}'
              onChange={(e) => onChange({ ...value, schemaText: e.target.value })}
            />
            <FieldError form={form} k="response_format.schema" />
          </div>
        </div>
      ) : null}
    </fieldset>
  );
}
