import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ErrorNote } from '../../components/ErrorNote';
import { ApiError, api, unwrap } from '../../lib/api';
import { useApiQuery } from '../../lib/query';
import { allAgents } from '../../lib/resources';
import {
  type FieldErrors,
  type FieldSchema,
  type FormValues,
  SchemaForm,
  serverFieldErrors,
  toPayload,
} from './SchemaForm';
import { noOptions, serverOptionErrors, TaskOptions, toOptions } from './TaskOptions';

/** A task from a form built from the chosen task type's JSON schema; the server's 400 lands on the fields too. */
export function TaskCreate() {
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const navigate = useNavigate();
  const [agentId, setAgentId] = useState('');
  const [typeName, setTypeName] = useState('');
  const [title, setTitle] = useState('');
  const [values, setValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [options, setOptions] = useState(noOptions);
  const [optionErrors, setOptionErrors] = useState<FieldErrors>({});
  // The payload as a form built from the type's schema, or as JSON typed by hand.
  const [asJson, setAsJson] = useState(false);
  const [json, setJson] = useState('{}');
  const [jsonError, setJsonError] = useState<string>();
  const agent = agents.data?.find((a) => a.id === agentId);
  // An agent that declares no task types takes the free-form `default` type.
  type TaskType = { name: string; description?: string; input_schema?: Record<string, unknown> };
  const declared: TaskType[] = agent?.task_types ?? [];
  const types: TaskType[] = agent && declared.length === 0 ? [{ name: 'default' }] : declared;
  const type = types.find((t) => t.name === typeName);
  const schema = (type?.input_schema ?? {}) as FieldSchema;

  const create = useMutation({
    mutationFn: async (body: { payload: unknown; options: ReturnType<typeof toOptions>['body'] }) =>
      unwrap(
        await api.POST('/v1/tasks', {
          body: { agent_id: agentId, task_type: typeName, title, payload: body.payload, ...body.options },
        }),
      ),
    onSuccess: (task) => navigate(`/tasks/${task.id}`),
    onError: (err) => {
      if (!(err instanceof ApiError && err.status === 400)) return;
      setErrors(serverFieldErrors(err.details));
      setOptionErrors(serverOptionErrors(err.details));
      // A schema refusal of hand-typed JSON is said beside the JSON.
      if (asJson) setJsonError(err.message);
    },
  });

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    let payload: unknown;
    let found: FieldErrors = {};
    let badJson: string | undefined;
    if (asJson) {
      try {
        payload = JSON.parse(json || '{}');
      } catch (err) {
        badJson = `not valid JSON: ${(err as Error).message}`;
      }
    } else {
      ({ payload, errors: found } = toPayload(schema, values));
    }
    if (!title.trim()) found.title = 'required';
    const opts = toOptions(options);
    setErrors(found);
    setOptionErrors(opts.errors);
    setJsonError(badJson);
    if (Object.keys(found).length === 0 && Object.keys(opts.errors).length === 0 && !badJson)
      create.mutate({ payload, options: opts.body });
  };

  return (
    <section>
      <p>
        <Link to="/tasks">← Tasks</Link>
      </p>
      <h1>New task</h1>
      <form className="stack" onSubmit={submit} noValidate>
        <label>
          Agent
          <select
            value={agentId}
            onChange={(e) => {
              setAgentId(e.target.value);
              const next = agents.data?.find((a) => a.id === e.target.value);
              setTypeName(next ? (next.task_types[0]?.name ?? 'default') : '');
              setValues({});
              setErrors({});
            }}
          >
            <option value="">choose an agent</option>
            {agents.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        {types.length > 0 ? (
          <label>
            Task type
            <select
              value={typeName}
              onChange={(e) => {
                setTypeName(e.target.value);
                setValues({});
                setErrors({});
              }}
            >
              {types.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {type?.description ? <p className="muted">{type.description}</p> : null}
        <div className="field">
          <label htmlFor="task-title">Title *</label>
          <input
            id="task-title"
            value={title}
            aria-invalid={errors.title ? true : undefined}
            onChange={(e) => setTitle(e.target.value)}
          />
          {errors.title ? <small className="field-error">{errors.title}</small> : null}
        </div>
        {type ? (
          <fieldset>
            <legend>Payload</legend>
            <label className="inline">
              <input
                type="checkbox"
                checked={asJson}
                onChange={(e) => {
                  // The form's values carry over into the JSON as a start.
                  if (e.target.checked) setJson(JSON.stringify(toPayload(schema, values).payload, null, 2));
                  setAsJson(e.target.checked);
                  setJsonError(undefined);
                }}
              />{' '}
              Edit as JSON
            </label>
            {asJson ? (
              <div className="field">
                <label htmlFor="task-payload-json">Payload JSON</label>
                <textarea
                  id="task-payload-json"
                  rows={8}
                  value={json}
                  spellCheck={false}
                  aria-invalid={jsonError ? true : undefined}
                  aria-describedby={jsonError ? 'task-payload-json-error' : undefined}
                  onChange={(e) => setJson(e.target.value)}
                />
                {jsonError ? (
                  <small id="task-payload-json-error" className="field-error">
                    {jsonError}
                  </small>
                ) : null}
              </div>
            ) : (
              <SchemaForm schema={schema} values={values} errors={errors} onChange={setValues} />
            )}
          </fieldset>
        ) : null}
        {type ? <TaskOptions values={options} errors={optionErrors} onChange={setOptions} /> : null}
        <div>
          <button
            type="submit"
            disabled={!type || create.isPending}
            aria-describedby={!type ? 'task-create-why' : undefined}
          >
            Create task
          </button>{' '}
          {!type ? (
            <small id="task-create-why" className="muted">
              Choose an agent first.
            </small>
          ) : create.isPending ? (
            <small className="muted">Creating…</small>
          ) : null}
        </div>
        {create.error &&
        !(
          create.error instanceof ApiError &&
          create.error.status === 400 &&
          Object.keys(errors).length > 0
        ) ? (
          <ErrorNote error={create.error} />
        ) : null}
      </form>
    </section>
  );
}
