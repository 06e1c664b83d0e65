import { keepPreviousData } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { Link, useParams } from 'react-router';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { StatusBadge } from '../../components/StatusBadge';
import { count, duration, num, percent, pretty, usd, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { allDatasets } from '../../lib/resources';
import { useUrlState } from '../../lib/url-state';
import { ExperimentActions } from './ExperimentActions';
import {
  type Experiment,
  type ExperimentItem,
  experimentDetail,
  experimentItems,
  type ItemFilters,
} from './queries';

/** Still changing: running, or cancelled with items that were running still finishing (they are recorded). */
const running = (e: Experiment | undefined) => e?.status === 'running' || (e?.progress.running ?? 0) > 0;

/** One experiment: its progress while it runs, the summary per evaluator, and each item's scores. */
export function ExperimentView() {
  const { id = '' } = useParams();
  const [offset, setOffset] = useState(0);
  // The results' filters are in the URL (`?status=error&failed=exact_match`).
  const [status, setStatus] = useUrlState<NonNullable<ItemFilters['status']> | ''>('status', '', [
    '',
    'pending',
    'running',
    'completed',
    'error',
  ]);
  const [failed, setFailed] = useUrlState('failed', '');
  const filters: ItemFilters = { ...(status && { status }), ...(failed && { failed }) };
  const filtered = filters.status !== undefined || filters.failed !== undefined;
  const filter = (change: ItemFilters) => {
    if ('status' in change) setStatus(change.status ?? '');
    if ('failed' in change) setFailed(change.failed ?? '');
    setOffset(0);
  };
  const experiment = useApiQuery({
    ...experimentDetail(id),
    refetchInterval: (q) => (running(q.state.data) ? 1000 : false),
  });
  const live = running(experiment.data);
  // The dataset by its name, not its id.
  const datasets = useApiQuery({ ...allDatasets(), staleTime: 30_000 });
  const items = useApiQuery({
    ...experimentItems(id, offset, filters),
    placeholderData: keepPreviousData,
    refetchInterval: live ? 1500 : false,
  });
  // Each item finished is fetched, the last ones included (the poll stops once the experiment ends).
  const finished = experiment.data ? experiment.data.progress.completed + experiment.data.progress.errors : 0;
  const { refetch } = items;
  useEffect(() => {
    if (finished > 0) void refetch();
  }, [finished, refetch]);
  if (experiment.error) {
    return (
      <section>
        <h1>Experiment</h1>
        <ErrorNote error={experiment.error} />
        <Link to="/experiments">Back to the experiments</Link>
      </section>
    );
  }
  if (!experiment.data) return <p className="muted">Loading the experiment…</p>;
  const e = experiment.data;
  const datasetName = datasets.data?.find((d) => d.id === e.dataset_id)?.name;
  const p = e.progress;
  return (
    <section>
      <p>
        <Link to="/experiments">← Experiments</Link>
      </p>
      <div className="page-head">
        <h1>{e.name}</h1>
        <StatusBadge status={e.status} />
      </div>
      <dl className="facts">
        {e.agent_id ? (
          <>
            <dt>Agent</dt>
            <dd>
              <Link to={`/agents/${e.agent_id}`}>{e.agent_name}</Link>
              {e.agent_version ? ` version ${e.agent_version}` : ' (latest version)'}
            </dd>
          </>
        ) : (
          <>
            <dt>Runs</dt>
            <dd>
              {e.prompt
                ? `the model ${e.prompt.model} with a prompt`
                : "the caller's own function (outputs reported by the caller)"}
            </dd>
          </>
        )}
        <dt>Dataset</dt>
        <dd>
          <Link to={`/datasets/${e.dataset_id}`}>{datasetName ?? e.dataset_id.slice(-8)}</Link>
        </dd>
        <dt>Started</dt>
        <dd>{when(e.created_at)}</dd>
        {e.stop_reason ? (
          <>
            <dt>Stopped</dt>
            <dd>{e.stop_reason}</dd>
          </>
        ) : null}
      </dl>
      <ExperimentActions experiment={e} />
      <div className="field">
        <span className="label" id="progress-label">
          Progress: {num(p.completed + p.errors)} of {count(p.total, 'item')}
          {p.errors ? ` (${count(p.errors, 'error')})` : ''}
        </span>
        <progress
          className="experiment-progress"
          aria-labelledby="progress-label"
          max={1}
          value={p.fraction}
        />
      </div>
      <Summary experiment={e} />
      <h2>Results</h2>
      <ResultFilters experiment={e} filters={filters} onChange={filter} />
      <ErrorNote error={items.error} />
      {items.data && items.data.data.length > 0 ? <Results items={items.data.data} /> : null}
      {items.data?.total === 0 && filtered ? <p className="muted">No item matches these filters.</p> : null}
      <Pager label="Result pages" offset={offset} page={items.data} onOffset={setOffset} />
    </section>
  );
}

const itemStatuses = ['completed', 'error', 'running', 'pending'] as const;

/** Narrows the results: items in one state, or those one evaluator failed (or could not score). */
function ResultFilters({
  experiment: e,
  filters,
  onChange,
}: {
  experiment: Experiment;
  filters: ItemFilters;
  onChange: (change: ItemFilters) => void;
}) {
  const id = useId();
  return (
    <form className="filters" aria-label="Filter results" onSubmit={(ev) => ev.preventDefault()}>
      <label htmlFor={`${id}-status`}>Status</label>
      <select
        id={`${id}-status`}
        value={filters.status ?? ''}
        onChange={(ev) => onChange({ status: (ev.target.value || undefined) as ItemFilters['status'] })}
      >
        <option value="">any</option>
        {itemStatuses.map((s) => (
          <option key={s}>{s}</option>
        ))}
      </select>
      <label htmlFor={`${id}-failed`}>Failed by</label>
      <select
        id={`${id}-failed`}
        value={filters.failed ?? ''}
        onChange={(ev) => onChange({ failed: ev.target.value || undefined })}
      >
        <option value="">not filtered</option>
        {e.summary.evaluators.map((v) => (
          <option key={v.name}>{v.name}</option>
        ))}
      </select>
    </form>
  );
}

function Summary({ experiment: e }: { experiment: Experiment }) {
  const s = e.summary;
  return (
    <>
      <h2>Summary</h2>
      <p>
        Passed every evaluator: <strong>{percent(s.pass_rate)}</strong> · latency p50{' '}
        {duration(s.latency_ms.p50)} · p95 {duration(s.latency_ms.p95)} · {num(s.tokens)} tokens ·{' '}
        {usd(s.cost_usd)}
      </p>
      <TableWrap label="Summary by evaluator">
        <table>
          <thead>
            <tr>
              <th>Evaluator</th>
              <th>Mean score</th>
              <th>Pass rate</th>
              <th>Scored</th>
              <th>Errors</th>
            </tr>
          </thead>
          <tbody>
            {s.evaluators.map((v) => (
              <tr key={v.name}>
                <td>
                  {v.name}
                  {v.name !== v.evaluator ? <span className="muted"> ({v.evaluator})</span> : null}
                </td>
                <td>{v.mean === null ? '—' : v.mean.toFixed(2)}</td>
                <td>{percent(v.pass_rate)}</td>
                <td>{num(v.scored)}</td>
                <td>{num(v.errors)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}

const inputText = (input: ExperimentItem['input']) =>
  'message' in input ? input.message : `${input.task_type}: ${pretty(input.payload ?? {})}`;

function Results({ items }: { items: ExperimentItem[] }) {
  return (
    <TableWrap label="Results table">
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Input</th>
            <th>Output</th>
            <th>Scores</th>
            <th>Run</th>
            <th>Latency</th>
            <th>Cost</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id}>
              <td>{i.seq}</td>
              <td className="prewrap">{inputText(i.input)}</td>
              <td className="prewrap">
                {i.error ? (
                  <span className="error-text">
                    {i.error.code}: {i.error.message}
                  </span>
                ) : (
                  (i.output ?? <StatusBadge status={i.status} />)
                )}
              </td>
              <td>
                <ul className="scores" aria-label={`Scores of item ${i.seq}`}>
                  {i.scores.map((s) => (
                    <li key={s.name} title={s.error ?? s.reason}>
                      <span
                        className={`badge ${s.pass === false || s.error ? 'badge-failed' : 'badge-completed'}`}
                      >
                        {s.name} {s.error ? 'error' : s.score === null ? '—' : s.score.toFixed(2)}
                      </span>
                    </li>
                  ))}
                </ul>
              </td>
              <td>{i.run_id ? <Link to={`/runs/${i.run_id}`}>{i.run_id.slice(-8)}</Link> : '—'}</td>
              <td>{duration(i.latency_ms)}</td>
              <td>{usd(i.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
