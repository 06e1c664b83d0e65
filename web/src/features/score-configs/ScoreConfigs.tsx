import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes } from 'react-router';
import { TableWrap } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { NotFound, WithId } from '../../components/NotFound';
import { Pager } from '../../components/Pager';
import { useAuth } from '../../lib/auth';
import { when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { useUrlState } from '../../lib/url-state';
import { EditScoreConfig } from './EditScoreConfig';
import { NewScoreConfig } from './NewScoreConfig';
import { scaleOf, scoreConfigPage } from './queries';
import '../../components/ui.css';
import './score-configs.css';

const back = { to: '/score-configs', label: 'Score configs' };

/** /score-configs (the list), /score-configs/new and /score-configs/:id (change or archive one). */
export default function ScoreConfigs() {
  return (
    <Routes>
      <Route index element={<ScoreConfigList />} />
      <Route path="new" element={<NewScoreConfig />} />
      <Route
        path=":id"
        element={
          <WithId what="score config" back={back}>
            <EditScoreConfig />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={back} />} />
    </Routes>
  );
}

function ScoreConfigList() {
  const { can } = useAuth();
  const [offset, setOffset] = useState(0);
  const [archived, setArchived] = useUrlState('archived', 'no', ['no', 'yes']);
  const list = useApiQuery({
    ...scoreConfigPage(offset, archived === 'yes'),
    placeholderData: keepPreviousData,
  });
  return (
    <section>
      <div className="page-head">
        <h1>Score configs</h1>
        {can('write') ? (
          <Link className="button" to="/score-configs/new">
            New score config
          </Link>
        ) : null}
      </div>
      <p className="muted">
        What a score of a name may be: a number in a range, one of named categories, or true or false. A score
        that names a config is checked against it, by people in Review and by programs alike.
      </p>
      <label className="inline">
        <input
          type="checkbox"
          checked={archived === 'yes'}
          onChange={(e) => {
            setOffset(0);
            setArchived(e.target.checked ? 'yes' : 'no');
          }}
        />{' '}
        Show archived configs
      </label>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No score configs yet">
          <p>Define one so that scores of its name are checked against its scale.</p>
        </EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <TableWrap label="Score configs table">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Scale</th>
                <th>Description</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`/score-configs/${c.id}`}>{c.name}</Link>
                    {c.archived_at ? <span className="badge badge-cancelled">archived</span> : null}
                  </td>
                  <td>{c.kind}</td>
                  <td>{scaleOf(c)}</td>
                  <td>{c.description || '—'}</td>
                  <td>{when(c.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Score config pages" offset={offset} page={list.data} onOffset={setOffset} />
    </section>
  );
}
