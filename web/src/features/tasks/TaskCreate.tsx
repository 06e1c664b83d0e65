import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { AgentOptions } from '../../components/AgentOptions';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { useApiQuery } from '../../lib/query';
import { allAgents } from '../../lib/resources';
import { type FieldSchema, type FormValues, SchemaForm, toPayload } from './SchemaForm';
import { noOptions, TaskOptions, toOptions } from './TaskOptions';

/** A task from a form built from the chosen task type's JSON schema; the server's 400 lands on the fields too. */
export function TaskCreate() {
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const navigate = useNavigate();
  const [agentId, setAgentId] = useState('');
  const [typeName, setTypeName] = useState('');
  const [title, setTitle] = useState('');
  const [values, setValues] = useState<FormValues>({});
  const [options, setOptions] = useState(noOptions);
  // The payload as a form built from the type's schema, or as JSON typed by hand.
  const [asJson, setAsJson] = useState(false);
  const [json, setJson] = useState('{}');
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
  });
  // The payload's problems land on its fields (`payload.<name>`), or on the JSON typed by hand.
  const form = useFieldErrors<string>({
    error: create.error,
    fieldOf: (path) =>
      asJson && (path === 'payload' || path.startsWith('payload.')) ? 'payload' : undefined,
  });

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    let payload: unknown;
    const found = new Map<string, string>();
    if (asJson) {
      try {
        payload = JSON.parse(json || '{}');
      } catch (err) {
        found.set('payload', `not valid JSON: ${(err as Error).message}`);
      }
    } else {
      const built = toPayload(schema, values);
      payload = built.payload;
      for (const [k, m] of Object.entries(built.errors)) found.set(`payload.${k}`, m);
    }
    if (!title.trim()) found.set('title', 'required');
    const opts = toOptions(options);
    for (const [k, m] of Object.entries(opts.errors)) found.set(k, m);
    if (form.check(found)) create.mutate({ payload, options: opts.body });
  };

  return (
    <section>
      <p>
        <Link to="/tasks">← Tasks</Link>
      </p>
      <h1>New task</h1>
      <form className="stack" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={form.input('agent_id').id}>Agent</label>
          <select
            {...form.bind('agent_id', (v) => {
              setAgentId(v);
              const next = agents.data?.find((a) => a.id === v);
              setTypeName(next ? (next.task_types[0]?.name ?? 'default') : '');
              setValues({});
              form.changed('payload');
            })}
            value={agentId}
          >
            <option value="">choose an agent</option>
            <AgentOptions agents={agents.data ?? []} />
          </select>
          <FieldError form={form} k="agent_id" />
        </div>
        {types.length > 0 ? (
          <div className="field">
            <label htmlFor={form.input('task_type').id}>Task type</label>
            <select
              {...form.bind('task_type', (v) => {
                setTypeName(v);
                setValues({});
                form.changed('payload');
              })}
              value={typeName}
            >
              {types.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
            <FieldError form={form} k="task_type" />
          </div>
        ) : null}
        {type?.description ? <p className="muted">{type.description}</p> : null}
        <div className="field">
          <label htmlFor={form.input('title').id}>Title *</label>
          <input {...form.bind('title', setTitle)} value={title} />
          <FieldError form={form} k="title" />
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
                  form.changed('payload');
                }}
              />{' '}
              Edit as JSON
            </label>
            {asJson ? (
              <div className="field">
                <label htmlFor={form.input('payload').id}>Payload JSON</label>
                <textarea {...form.bind('payload', setJson)} rows={8} value={json} spellCheck={false} />
                <FieldError form={form} k="payload" />
              </div>
            ) : (
              <SchemaForm schema={schema} values={values} form={form} onChange={setValues} />
            )}
          </fieldset>
        ) : null}
        {type ? <TaskOptions values={options} form={form} onChange={setOptions} /> : null}
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
        <FormProblems form={form} before="before creating it" />
        <ErrorNote error={form.unplaced(create.error)} />
      </form>
    </section>
  );
}
