import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes, useNavigate } from 'react-router';
import { TableWrap } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { NotFound, WithId } from '../../components/NotFound';
import { Pager } from '../../components/Pager';
import { StatusBadge } from '../../components/StatusBadge';
import { useAuth } from '../../lib/auth';
import { percent, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { CompareExperiments } from './CompareExperiments';
import { ExperimentView } from './ExperimentView';
import { NewExperiment } from './NewExperiment';
import { experimentPage } from './queries';
import '../../components/ui.css';
import './experiments.css';

/** /experiments, /experiments/new, /experiments/compare?ids=a,b and /experiments/:id. */
export default function Experiments() {
  return (
    <Routes>
      <Route index element={<ExperimentList />} />
      <Route path="new" element={<NewExperiment />} />
      <Route path="compare" element={<CompareExperiments />} />
      <Route
        path=":id"
        element={
          <WithId what="experiment" back={{ to: '/experiments', label: 'Experiments' }}>
            <ExperimentView />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={{ to: '/experiments', label: 'Experiments' }} />} />
    </Routes>
  );
}

/** Experiments newest first; two ticked are compared item by item. */
function ExperimentList() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const [offset, setOffset] = useState(0);
  const [picked, setPicked] = useState<string[]>([]);
  const list = useApiQuery({
    ...experimentPage(offset),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.data.some((e) => e.status === 'running') ? 2000 : false),
  });
  const toggle = (id: string) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));
  return (
    <section>
      <div className="page-head">
        <h1>Experiments</h1>
        <div className="actions">
          <Link className="button secondary" to="/datasets">
            Datasets
          </Link>
          {can('write') ? (
            <Link className="button" to="/experiments/new">
              New experiment
            </Link>
          ) : null}
        </div>
      </div>
      <p className="muted">
        An experiment runs an agent (a version of it) over a dataset and scores every answer with evaluators.
      </p>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No experiments yet">
          <p>Make a dataset of test cases, then start an experiment on it.</p>
        </EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <>
          <TableWrap label="Experiments table">
            <table>
              <thead>
                <tr>
                  <th>
                    <span className="sr-only">Compare</span>
                  </th>
                  <th>Name</th>
                  <th>Agent</th>
                  <th>Status</th>
                  <th>Progress</th>
                  <th>Started</th>
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Compare ${e.name}`}
                        checked={picked.includes(e.id)}
                        onChange={() => toggle(e.id)}
                      />
                    </td>
                    <td>
                      <Link to={`/experiments/${e.id}`}>{e.name}</Link>
                    </td>
                    <td>
                      {e.agent_name ?? (e.prompt ? e.prompt.model : 'function')}
                      {e.agent_version ? `@${e.agent_version}` : ''}
                    </td>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td>{percent(e.progress.fraction)}</td>
                    <td>{when(e.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <div className="actions">
            <button
              type="button"
              className="secondary"
              disabled={picked.length !== 2}
              title={picked.length !== 2 ? 'Tick two experiments to compare them' : undefined}
              onClick={() => navigate(`/experiments/compare?ids=${picked.join(',')}`)}
            >
              Compare the two ticked
            </button>
          </div>
        </>
      ) : null}
      <Pager label="Experiment pages" offset={offset} page={list.data} onOffset={setOffset} />
    </section>
  );
}
