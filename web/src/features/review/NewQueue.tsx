import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { AgentOptions } from '../../components/AgentOptions';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { useApiQuery } from '../../lib/query';
import { useAllAgents } from '../agents/queries';
import { queueChoices, queueKeys } from './queries';

/** The server's rule for a queue name (eval/queues/schema.ts `queueName`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,99}$/;
const STATUSES = [
  'completed',
  'failed',
  'cancelled',
  'interrupted',
  'input_required',
  'running',
  'queued',
] as const;

type Fill = 'none' | 'runs' | 'experiment';

/**
 * A new annotation queue: its name, the score configs a reviewer gives (in the order ticked), the
 * dataset corrected items go to, and what fills it (runs under a filter, as the runs page filters
 * them, or an experiment's items with their expected outputs). Made, then filled: when the fill is
 * refused, the queue is kept and a second submit only fills it.
 */
export function NewQueue() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const choices = useApiQuery(queueChoices());
  const agents = useAllAgents();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [configs, setConfigs] = useState<string[]>([]);
  const [dataset, setDataset] = useState('');
  const [fill, setFill] = useState<Fill>('runs');
  const [agent, setAgent] = useState('');
  const [status, setStatus] = useState('');
  const [text, setText] = useState('');
  const [limit, setLimit] = useState('100');
  const [experiment, setExperiment] = useState('');
  const [made, setMade] = useState<string | null>(null);

  const create = useMutation({
    mutationFn: async () => {
      const id =
        made ??
        unwrap(
          await api.POST('/v1/annotation-queues', {
            body: {
              name,
              score_configs: configs,
              ...(description.trim() && { description: description.trim() }),
              ...(dataset && { dataset }),
            },
          }),
        ).id;
      setMade(id);
      if (fill !== 'none')
        unwrap(
          await api.POST('/v1/annotation-queues/{id}/items', {
            params: { path: { id } },
            body:
              fill === 'experiment'
                ? { experiment_id: experiment }
                : {
                    runs: {
                      limit: Number(limit),
                      ...(agent && { agent_id: agent }),
                      ...(status && { status: status as (typeof STATUSES)[number] }),
                      ...(text.trim() && { q: text.trim() }),
                    },
                  },
          }),
        );
      return id;
    },
    onSuccess: (id) => {
      void client.invalidateQueries({ queryKey: queueKeys.all });
      navigate(`/review/${id}`);
    },
  });
  const form = useFieldErrors({ error: create.error });

  const problems = () => {
    const p = new Map<string, string>();
    if (!made) {
      if (!NAME.test(name))
        p.set(
          'name',
          name ? 'Letters, digits, spaces, ".", "_", ":" and "-" (up to 100).' : 'Name the queue.',
        );
      if (configs.length === 0) p.set('score_configs', 'Tick at least one score config.');
    }
    if (fill === 'experiment' && !experiment) p.set('experiment_id', 'Pick an experiment.');
    const n = Number(limit);
    if (fill === 'runs' && !(Number.isInteger(n) && n >= 1 && n <= 5000))
      p.set('runs.limit', 'A whole number from 1 to 5000.');
    return p;
  };
  const tick = (id: string, on: boolean) => {
    setConfigs((c) => (on ? [...c, id] : c.filter((x) => x !== id)));
    form.changed('score_configs');
  };

  return (
    <form
      className="panel"
      aria-label="New queue"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(problems())) create.mutate();
      }}
    >
      <h2>New queue</h2>
      <ErrorNote error={choices.error} />
      {made ? (
        <p role="status">The queue is made; its fill was refused. Change the fill and submit again.</p>
      ) : (
        <>
          <div className="field">
            <label htmlFor={form.input('name').id}>Name</label>
            <input {...form.bind('name', setName)} value={name} />
            <FieldError form={form} k="name" />
          </div>
          <div className="field">
            <label htmlFor={form.input('description').id}>Description</label>
            <input {...form.bind('description', setDescription)} value={description} />
            <FieldError form={form} k="description" />
          </div>
          <fieldset {...form.input('score_configs')} tabIndex={-1} className="field">
            <legend>Score configs (in the order ticked)</legend>
            {choices.data?.configs.length === 0 ? (
              <p className="muted">No score configs yet: define one first (POST /v1/score-configs).</p>
            ) : null}
            {choices.data?.configs.map((c) => (
              <label key={c.id} className="check">
                <input
                  type="checkbox"
                  checked={configs.includes(c.id)}
                  onChange={(e) => tick(c.id, e.target.checked)}
                />{' '}
                {c.name} <span className="muted small">({c.kind})</span>
              </label>
            ))}
            <FieldError form={form} k="score_configs" />
          </fieldset>
          <div className="field">
            <label htmlFor={form.input('dataset').id}>Dataset for corrected items</label>
            <select {...form.bind('dataset', setDataset)} value={dataset}>
              <option value="">None (name one when adding)</option>
              {choices.data?.datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
            <FieldError form={form} k="dataset" />
          </div>
        </>
      )}
      <fieldset className="field">
        <legend>Fill it with</legend>
        {(
          [
            ['runs', 'Runs matching a filter'],
            ['experiment', "An experiment's items (with their expected outputs)"],
            ['none', 'Nothing for now'],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="check">
            <input type="radio" name="fill" checked={fill === value} onChange={() => setFill(value)} />{' '}
            {label}
          </label>
        ))}
      </fieldset>
      {fill === 'runs' ? (
        <div className="filters">
          <div className="field">
            <label htmlFor={form.input('runs.agent_id').id}>Agent</label>
            <select {...form.bind('runs.agent_id', setAgent)} value={agent}>
              <option value="">Any agent</option>
              <AgentOptions agents={agents.data ?? []} />
            </select>
            <FieldError form={form} k="runs.agent_id" />
          </div>
          <div className="field">
            <label htmlFor={form.input('runs.status').id}>Status</label>
            <select {...form.bind('runs.status', setStatus)} value={status}>
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <FieldError form={form} k="runs.status" />
          </div>
          <div className="field">
            <label htmlFor={form.input('runs.q').id}>Input or output contains</label>
            <input {...form.bind('runs.q', setText)} value={text} />
            <FieldError form={form} k="runs.q" />
          </div>
          <div className="field">
            <label htmlFor={form.input('runs.limit').id}>At most (newest runs)</label>
            <input {...form.bind('runs.limit', setLimit)} value={limit} inputMode="numeric" />
            <FieldError form={form} k="runs.limit" />
          </div>
        </div>
      ) : null}
      {fill === 'experiment' ? (
        <div className="field">
          <label htmlFor={form.input('experiment_id').id}>Experiment</label>
          <select {...form.bind('experiment_id', setExperiment)} value={experiment}>
            <option value="">Pick an experiment</option>
            {choices.data?.experiments.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
          <FieldError form={form} k="experiment_id" />
        </div>
      ) : null}
      <BusyButton type="submit" busy={create.isPending} busyReason="Making the queue…">
        {made ? 'Fill the queue' : 'Create queue'}
      </BusyButton>
      <FormProblems form={form} before="before creating it" />
      <ErrorNote error={form.unplaced(create.error)} />
    </form>
  );
}
