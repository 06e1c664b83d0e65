import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { AgentOptions } from '../../components/AgentOptions';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { api, type paths, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { useApiQuery } from '../../lib/query';
import { allAgents, allDatasets, allEvaluators, evaluatorKinds } from '../../lib/resources';
import { experimentKeys } from './queries';

type Body = NonNullable<paths['/v1/experiments']['post']['requestBody']>['content']['application/json'];

/** The form's own checks, by field; the server checks the rest (an evaluator's parameters). */
function problems(f: {
  dataset: string;
  agent: string;
  version: string;
  types: string[];
  refs: string[];
  extra: string;
}) {
  const p = new Map<string, string>();
  if (!f.dataset) p.set('dataset', 'Pick a dataset.');
  if (!f.agent) p.set('agent', 'Pick an agent.');
  if (f.version && !/^[1-9][0-9]*$/.test(f.version)) p.set('agent_version', 'A version number: 1, 2, 3…');
  let extra: unknown[] = [];
  if (f.extra.trim()) {
    try {
      const v = JSON.parse(f.extra);
      if (!Array.isArray(v))
        p.set('extra', 'A JSON array of evaluators: [{"type": "regex", "pattern": "…"}]');
      else extra = v;
    } catch (e) {
      p.set('extra', `Not JSON: ${(e as Error).message}`);
    }
  }
  if (f.types.length === 0 && f.refs.length === 0 && extra.length === 0)
    p.set('types', 'Pick at least one evaluator.');
  return { problems: p, extra };
}

/** Start an experiment: a dataset, an agent (optionally a version of it), evaluators. */
export function NewExperiment() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const datasets = useApiQuery({ ...allDatasets(), staleTime: 10_000 });
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const kinds = useApiQuery({ ...evaluatorKinds(), staleTime: 300_000 });
  const named = useApiQuery({ ...allEvaluators(), staleTime: 10_000 });
  const [name, setName] = useState('');
  const [dataset, setDataset] = useState(params.get('dataset') ?? '');
  const [agent, setAgent] = useState(params.get('agent') ?? '');
  const [version, setVersion] = useState(params.get('version') ?? '');
  const [types, setTypes] = useState<string[]>(['exact_match']);
  /** Named evaluators, picked by `{"ref": name}`: the experiment pins the version they have as it starts. */
  const [refs, setRefs] = useState<string[]>([]);
  const [extra, setExtra] = useState('');
  const [concurrency, setConcurrency] = useState(4);
  const checked = problems({ dataset, agent, version, types, refs, extra });
  const start = useMutation({
    mutationFn: async () => {
      const body = {
        ...(name.trim() && { name: name.trim() }),
        dataset,
        agent,
        ...(version && { agent_version: Number(version) }),
        evaluators: [...types.map((type) => ({ type })), ...refs.map((ref) => ({ ref })), ...checked.extra],
        concurrency,
      } as Body;
      return unwrap(await api.POST('/v1/experiments', { body }));
    },
    onSuccess: (e) => {
      void client.invalidateQueries({ queryKey: experimentKeys.all });
      navigate(`/experiments/${e.id}`);
    },
  });
  // The API's evaluators are the ticked kinds, the named ones, then the JSON ones: a problem lands on its part.
  const form = useFieldErrors<string>({
    error: start.error,
    fieldOf: (path) => {
      const [head, n] = path.split('.');
      if (head !== 'evaluators') return undefined;
      if (n !== undefined && Number(n) < types.length) return 'types';
      return n !== undefined && Number(n) < types.length + refs.length ? 'refs' : 'extra';
    },
  });
  return (
    <section>
      <p>
        <Link to="/experiments">← Experiments</Link>
      </p>
      <h1>New experiment</h1>
      <form
        className="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check(checked.problems)) start.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('name').id}>Name (optional)</label>
          <input {...form.bind('name', setName)} value={name} />
          <FieldError form={form} k="name" />
        </div>
        <div className="field">
          <label htmlFor={form.input('dataset').id}>Dataset</label>
          <select {...form.bind('dataset', setDataset)} value={dataset}>
            <option value="">choose…</option>
            {datasets.data?.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.item_count} items)
              </option>
            ))}
          </select>
          <FieldError form={form} k="dataset" />
        </div>
        <div className="field">
          <label htmlFor={form.input('agent').id}>Agent</label>
          <select {...form.bind('agent', setAgent)} value={agent}>
            <option value="">choose…</option>
            <AgentOptions agents={agents.data ?? []} label={(a) => `${a.name} (v${a.version})`} />
          </select>
          <FieldError form={form} k="agent" />
        </div>
        <div className="field">
          <label htmlFor={form.input('agent_version').id}>Agent version (optional)</label>
          <input
            {...form.bind('agent_version', (v) => setVersion(v.trim()))}
            inputMode="numeric"
            value={version}
            placeholder="the latest"
          />
          <FieldError form={form} k="agent_version" />
        </div>
        <fieldset className="evaluator-choices" {...form.input('types')} tabIndex={-1}>
          <legend>Evaluators</legend>
          {kinds.data?.map((k) => (
            <label key={k.type} title={k.description}>
              <input
                type="checkbox"
                checked={types.includes(k.type)}
                onChange={(e) => {
                  setTypes((t) => (e.target.checked ? [...t, k.type] : t.filter((x) => x !== k.type)));
                  form.changed('types');
                }}
              />{' '}
              {k.type}
            </label>
          ))}
        </fieldset>
        <FieldError form={form} k="types" />
        {named.data && named.data.length > 0 ? (
          <>
            <fieldset className="evaluator-choices" {...form.input('refs')} tabIndex={-1}>
              <legend>Named evaluators</legend>
              {named.data.map((e) => (
                <label key={e.id} title={e.description || undefined}>
                  <input
                    type="checkbox"
                    checked={refs.includes(e.name)}
                    onChange={(ev) => {
                      setRefs((r) => (ev.target.checked ? [...r, e.name] : r.filter((x) => x !== e.name)));
                      form.changed('refs');
                      form.changed('types');
                    }}
                  />{' '}
                  {e.name} <span className="muted">(v{e.version})</span>
                </label>
              ))}
            </fieldset>
            <FieldError form={form} k="refs" />
          </>
        ) : null}
        <div className="field">
          <label htmlFor={form.input('extra').id}>Evaluators with parameters (JSON array, optional)</label>
          <textarea
            {...form.bind('extra', setExtra)}
            rows={3}
            value={extra}
            placeholder='[{"type": "regex", "pattern": "\\d+"}]'
          />
          <FieldError form={form} k="extra" />
        </div>
        <div className="field">
          <label htmlFor={form.input('concurrency').id}>Items at once</label>
          <input
            {...form.bind('concurrency', (v) => setConcurrency(Math.min(64, Math.max(1, Number(v) || 1))))}
            type="number"
            min={1}
            max={64}
            value={concurrency}
          />
          <FieldError form={form} k="concurrency" />
        </div>
        <div>
          <BusyButton type="submit" busy={start.isPending} busyReason="Starting the experiment…">
            Start experiment
          </BusyButton>
        </div>
        <FormProblems form={form} before="before starting it" />
        <ErrorNote error={form.unplaced(start.error)} />
      </form>
    </section>
  );
}
