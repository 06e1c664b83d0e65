import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { useSchemasCompile } from '../../lib/schema-check';
import { commaList } from '../../lib/text-fields';
import { AnswerFormat } from './AnswerFormat';
import { CheckList } from './CheckList';
import { budgetKeys, type Draft, type Field, fieldOfPath, partsChanged, problems } from './draft';
import { useAllAgents, useKnowledgeBases, useModels, usePolicy, useTools } from './queries';
import { TaskTypes } from './TaskTypes';

/**
 * Every field of an agent. The form reports which fields the user touched (`dirty`), so that an
 * agent made from a template sends only those and the template fills the rest.
 */
export function AgentForm({
  initial,
  editable,
  submitLabel,
  busy,
  error,
  onSubmit,
  extraActions,
}: {
  initial: Draft;
  editable: boolean;
  submitLabel: string;
  busy: boolean;
  error?: unknown;
  onSubmit: (d: Draft, dirty: Set<Field>) => void;
  extraActions?: React.ReactNode;
}) {
  const [d, setD] = useState(initial);
  const [dirty, setDirty] = useState(new Set<Field>());
  const models = useModels();
  const tools = useTools();
  const kbs = useKnowledgeBases();
  const agents = useAllAgents();
  const policy = usePolicy();
  // An agent's own budget caps its keys: only an admin may change it (the server refuses others).
  const admin = useAuth().can('admin');
  const errors = problems(d);
  // Schemas that pass the bounds here are compiled by the server's rules as the user types.
  const schemaTexts = [
    d.response_format.type === 'json_schema' ? d.response_format.schemaText : '',
    ...d.task_types.map((t) => t.schemaText),
  ];
  const [answerCompiles, ...taskCompiles] = useSchemasCompile(schemaTexts);
  if (answerCompiles) errors.set('response_format.schema', answerCompiles);
  taskCompiles.forEach((e, i) => {
    if (e) errors.set(`task_types.${i}.schema`, e);
  });
  // JSON as it is typed is judged at once; the other fields from the first submit on.
  const live = new Map(
    [...errors].filter(
      ([k]) => k.startsWith('task_types') || k === 'metadataText' || k === 'response_format.schema',
    ),
  );
  const form = useFieldErrors({ live, fieldOf: fieldOfPath, error });
  const set = <K extends Field>(k: K, v: Draft[K]) => {
    for (const part of partsChanged(k, d[k], v)) form.changed(part);
    setD((x) => ({ ...x, [k]: v }));
    setDirty((x) => new Set(x).add(k));
  };
  const field = (k: Field, label: string, input: React.ReactNode, hint?: string) => (
    <div className="field">
      <label htmlFor={form.input(k).id}>{label}</label>
      {input}
      {hint ? <p className="muted hint">{hint}</p> : null}
      <FieldError form={form} k={k} />
    </div>
  );
  const modelChoices = [...new Set([...(models.data ?? []), ...(d.model ? [d.model] : [])])];
  const fromFile = policy.data?.policy.budgets.agents[d.name];

  return (
    <form
      className="agent-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(errors)) onSubmit(d, dirty);
      }}
    >
      <fieldset disabled={!editable || busy} className="plain">
        <div className="grid2">
          {field(
            'name',
            'Name',
            <input {...form.input('name')} value={d.name} onChange={(e) => set('name', e.target.value)} />,
          )}
          {field(
            'model',
            'Model',
            <select {...form.input('model')} value={d.model} onChange={(e) => set('model', e.target.value)}>
              <option value="">Choose a model…</option>
              {modelChoices.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>,
          )}
        </div>
        {field(
          'description',
          'Description',
          <input
            {...form.input('description')}
            value={d.description}
            onChange={(e) => set('description', e.target.value)}
          />,
        )}
        {field(
          'system_prompt',
          'Instructions (system prompt)',
          <textarea
            {...form.input('system_prompt')}
            rows={6}
            value={d.system_prompt}
            onChange={(e) => set('system_prompt', e.target.value)}
          />,
          'Variables like {{customer}} are filled from the chat request’s context.',
        )}
        <div className="grid3">
          {field(
            'mode',
            'Mode',
            <select
              {...form.input('mode')}
              value={d.mode}
              onChange={(e) => set('mode', e.target.value as Draft['mode'])}
            >
              <option value="REACTIVE">REACTIVE: runs tools without asking</option>
              <option value="COLLABORATIVE">COLLABORATIVE: asks before risky tools</option>
            </select>,
          )}
          {field(
            'env',
            'Runs in',
            <select
              {...form.input('env')}
              value={d.env}
              onChange={(e) => set('env', e.target.value as Draft['env'])}
            >
              <option value="in_process">in_process: the server’s agent loop</option>
              <option value="cloud_shared">cloud_shared: the same loop, under isA’s name</option>
              <option value="cloud_pool">cloud_pool: the loop, holding a warm sandbox per run</option>
              <option value="pool">pool: a deployed local-dev bundle</option>
              <option value="remote">remote: an HTTP runtime</option>
              <option value="multi_agent">multi_agent: a team</option>
            </select>,
          )}
          {field(
            'visibility',
            'Visibility',
            <select
              {...form.input('visibility')}
              value={d.visibility}
              onChange={(e) => set('visibility', e.target.value as Draft['visibility'])}
            >
              <option value="private">private</option>
              <option value="tenant">tenant</option>
              <option value="public">public</option>
            </select>,
          )}
        </div>
        {d.env === 'remote'
          ? field(
              'runtime_url',
              'Runtime URL',
              <input
                {...form.input('runtime_url')}
                type="url"
                value={d.runtime_url}
                onChange={(e) => set('runtime_url', e.target.value)}
              />,
            )
          : null}
        {d.env === 'multi_agent'
          ? field(
              'multi_agent_id',
              'Team id',
              <input
                {...form.input('multi_agent_id')}
                value={d.multi_agent_id}
                onChange={(e) => set('multi_agent_id', e.target.value)}
              />,
              'The swarm or DAG (Teams page) this agent stands for.',
            )
          : null}
        <ErrorNote error={tools.error} />
        <CheckList
          legend="Tools"
          empty="No tools are available."
          value={d.tools}
          onChange={(v) => set('tools', v)}
          choices={(tools.data?.data ?? []).map((t) => ({
            value: t.name,
            group: t.source === 'mcp' ? `MCP server ${t.server ?? ''}` : 'Built-in and sandboxed',
            hint: `${t.description.split('. ')[0]}${t.requires_approval ? ' (asks for approval)' : ''}`,
          }))}
        />
        <CheckList
          legend="Knowledge bases"
          empty="No knowledge bases yet: create one on the Knowledge page."
          value={d.knowledge}
          onChange={(v) => set('knowledge', v)}
          choices={(kbs.data ?? []).map((k) => ({ value: k.name, hint: k.kind }))}
        />
        <CheckList
          legend="Handoffs (agents this one may pass the conversation to)"
          empty="No other agents yet."
          value={d.handoffs}
          onChange={(v) => set('handoffs', v)}
          choices={(agents.data ?? []).filter((a) => a.name !== d.name).map((a) => ({ value: a.name }))}
        />
        {field(
          'skills',
          'Skills (comma-separated)',
          <input
            {...form.input('skills')}
            value={d.skills.join(', ')}
            onChange={(e) => set('skills', commaList(e.target.value))}
          />,
        )}
        <TaskTypes
          value={d.task_types}
          onChange={(v) => set('task_types', v)}
          form={form}
          editable={editable}
        />
        {field(
          'metadataText',
          'Metadata (JSON object)',
          <textarea
            {...form.input('metadataText')}
            className="code"
            rows={3}
            spellCheck={false}
            value={d.metadataText}
            onChange={(e) => set('metadataText', e.target.value)}
          />,
        )}
        <AnswerFormat value={d.response_format} onChange={(v) => set('response_format', v)} form={form} />
        <fieldset className="plain budget" disabled={!admin}>
          <legend className="label">Budget</legend>
          <div className="grid2">
            {budgetKeys.map((k) => (
              <div className="field" key={k}>
                <label htmlFor={form.input(`budget.${k}`).id}>
                  {k.startsWith('tokens') ? 'Tokens' : 'Cost'} per {k.endsWith('day') ? 'day' : 'month'}
                </label>
                <input
                  {...form.input(`budget.${k}`)}
                  inputMode={k.startsWith('tokens') ? 'numeric' : 'decimal'}
                  placeholder="no limit"
                  value={d.budget[k]}
                  onChange={(e) => set('budget', { ...d.budget, [k]: e.target.value })}
                />
                <FieldError form={form} k={`budget.${k}`} />
              </div>
            ))}
          </div>
          <p className="muted hint">
            {admin
              ? 'This agent’s own limits (cost in the currency of the model prices); empty for none.'
              : 'Only a tenant admin may change this agent’s budget.'}{' '}
            Where tenants.yaml also limits it, the stricter of the two applies.
          </p>
          {fromFile && Object.keys(fromFile).length > 0 ? (
            <div>
              <p className="muted">
                tenants.yaml, <code>budgets.agents.{d.name}</code>:
              </p>
              <ul>
                {Object.entries(fromFile).map(([k, v]) => (
                  <li key={k}>
                    {k.replaceAll('_', ' ')}: <strong>{String(v)}</strong>
                  </li>
                ))}
              </ul>
            </div>
          ) : (
            <p className="muted hint">
              No entry in tenants.yaml (<code>budgets.agents.{d.name || '<name>'}</code>); the tenant’s
              budgets apply beside this one.
            </p>
          )}
        </fieldset>
      </fieldset>
      <FormProblems form={form} />
      <ErrorNote error={form.unplaced(error)} />
      {editable ? (
        <div className="actions">
          <BusyButton type="submit" busy={busy} busyReason="Saving the agent…">
            {busy ? 'Saving…' : submitLabel}
          </BusyButton>
          {extraActions}
        </div>
      ) : null}
    </form>
  );
}
