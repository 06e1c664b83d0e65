import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, unwrap } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { useAgents } from './agents';
import {
  type FieldErrors,
  type FieldSchema,
  type FormValues,
  SchemaForm,
  serverFieldErrors,
  toPayload,
} from './SchemaForm';

/** A task from a form built from the chosen task type's JSON schema; the server's 400 lands on the fields too. */
export function TaskCreate() {
  const agents = useAgents();
  const navigate = useNavigate();
  const [agentId, setAgentId] = useState('');
  const [typeName, setTypeName] = useState('');
  const [title, setTitle] = useState('');
  const [values, setValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const agent = agents.data?.find((a) => a.id === agentId);
  // An agent that declares no task types takes the free-form `default` type.
  type TaskType = { name: string; description?: string; input_schema?: Record<string, unknown> };
  const declared: TaskType[] = agent?.task_types ?? [];
  const types: TaskType[] = agent && declared.length === 0 ? [{ name: 'default' }] : declared;
  const type = types.find((t) => t.name === typeName);
  const schema = (type?.input_schema ?? {}) as FieldSchema;

  const create = useMutation({
    mutationFn: async (body: { payload: Record<string, unknown> }) =>
      unwrap(
        await api.POST('/v1/tasks', {
          body: { agent_id: agentId, task_type: typeName, title, payload: body.payload },
        }),
      ),
    onSuccess: (task) => navigate(`/tasks/${task.id}`),
    onError: (err) => {
      if (err instanceof ApiError && err.status === 400) setErrors(serverFieldErrors(err.details));
    },
  });

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const { payload, errors: found } = toPayload(schema, values);
    if (!title.trim()) found.title = 'required';
    setErrors(found);
    if (Object.keys(found).length === 0) create.mutate({ payload });
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
            <SchemaForm schema={schema} values={values} errors={errors} onChange={setValues} />
          </fieldset>
        ) : null}
        <div>
          <button type="submit" disabled={!type || create.isPending}>
            Create task
          </button>
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
