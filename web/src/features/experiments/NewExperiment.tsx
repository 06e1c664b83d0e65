import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { api, type paths, unwrap } from '../../lib/api';
import { useApiQuery } from '../../lib/query';
import { allAgents, allDatasets } from '../../lib/resources';
import { evaluatorKinds, experimentKeys } from './queries';

type Body = NonNullable<paths['/v1/experiments']['post']['requestBody']>['content']['application/json'];

/** The form's own checks, by field; the server checks the rest (an evaluator's parameters). */
function problems(f: { dataset: string; agent: string; version: string; types: string[]; extra: string }) {
  const p = new Map<string, string>();
  if (!f.dataset) p.set('dataset', 'Pick a dataset.');
  if (!f.agent) p.set('agent', 'Pick an agent.');
  if (f.version && !/^[1-9][0-9]*$/.test(f.version)) p.set('version', 'A version number: 1, 2, 3…');
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
  if (f.types.length === 0 && extra.length === 0) p.set('types', 'Pick at least one evaluator.');
  return { problems: p, extra };
}

/** Start an experiment: a dataset, an agent (optionally a version of it), evaluators. */
export function NewExperiment() {
  const id = useId();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const datasets = useApiQuery({ ...allDatasets(), staleTime: 10_000 });
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const kinds = useApiQuery({ ...evaluatorKinds(), staleTime: 300_000 });
  const [name, setName] = useState('');
  const [dataset, setDataset] = useState(params.get('dataset') ?? '');
  const [agent, setAgent] = useState(params.get('agent') ?? '');
  const [version, setVersion] = useState(params.get('version') ?? '');
  const [types, setTypes] = useState<string[]>(['exact_match']);
  const [extra, setExtra] = useState('');
  const [concurrency, setConcurrency] = useState(4);
  const [tried, setTried] = useState(false);
  const checked = problems({ dataset, agent, version, types, extra });
  const shown = tried ? checked.problems : new Map<string, string>();
  const start = useMutation({
    mutationFn: async () => {
      const body = {
        ...(name.trim() && { name: name.trim() }),
        dataset,
        agent,
        ...(version && { agent_version: Number(version) }),
        evaluators: [...types.map((type) => ({ type })), ...checked.extra],
        concurrency,
      } as Body;
      return unwrap(await api.POST('/v1/experiments', { body }));
    },
    onSuccess: (e) => {
      void client.invalidateQueries({ queryKey: experimentKeys.all });
      navigate(`/experiments/${e.id}`);
    },
  });
  const aria = (k: string) => ({
    id: `${id}-${k}`,
    'aria-invalid': shown.has(k),
    'aria-describedby': shown.has(k) ? `${id}-${k}-error` : undefined,
  });
  const error = (k: string) =>
    shown.has(k) ? (
      <p id={`${id}-${k}-error`} className="field-error">
        {shown.get(k)}
      </p>
    ) : null;
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
          setTried(true);
          if (checked.problems.size === 0) start.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-name`}>Name (optional)</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-dataset`}>Dataset</label>
          <select {...aria('dataset')} value={dataset} onChange={(e) => setDataset(e.target.value)}>
            <option value="">choose…</option>
            {datasets.data?.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.item_count} items)
              </option>
            ))}
          </select>
          {error('dataset')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-agent`}>Agent</label>
          <select {...aria('agent')} value={agent} onChange={(e) => setAgent(e.target.value)}>
            <option value="">choose…</option>
            {agents.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} (v{a.version})
              </option>
            ))}
          </select>
          {error('agent')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-version`}>Agent version (optional)</label>
          <input
            {...aria('version')}
            inputMode="numeric"
            value={version}
            placeholder="the latest"
            onChange={(e) => setVersion(e.target.value.trim())}
          />
          {error('version')}
        </div>
        <fieldset
          className="evaluator-choices"
          aria-describedby={shown.has('types') ? `${id}-types-error` : undefined}
        >
          <legend>Evaluators</legend>
          {kinds.data?.map((k) => (
            <label key={k.type} title={k.description}>
              <input
                type="checkbox"
                checked={types.includes(k.type)}
                onChange={(e) =>
                  setTypes((t) => (e.target.checked ? [...t, k.type] : t.filter((x) => x !== k.type)))
                }
              />{' '}
              {k.type}
            </label>
          ))}
        </fieldset>
        {error('types')}
        <div className="field">
          <label htmlFor={`${id}-extra`}>Evaluators with parameters (JSON array, optional)</label>
          <textarea
            {...aria('extra')}
            rows={3}
            value={extra}
            placeholder='[{"type": "regex", "pattern": "\\d+"}]'
            onChange={(e) => setExtra(e.target.value)}
          />
          {error('extra')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-concurrency`}>Items at once</label>
          <input
            id={`${id}-concurrency`}
            type="number"
            min={1}
            max={64}
            value={concurrency}
            onChange={(e) => setConcurrency(Math.min(64, Math.max(1, Number(e.target.value) || 1)))}
          />
        </div>
        <div>
          <BusyButton type="submit" busy={start.isPending} busyReason="Starting the experiment…">
            Start experiment
          </BusyButton>
        </div>
        <ErrorNote error={start.error} />
      </form>
    </section>
  );
}
