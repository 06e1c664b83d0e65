import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes } from 'react-router';
import { TableWrap } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { NotFound, WithId } from '../../components/NotFound';
import { Pager } from '../../components/Pager';
import { useAuth } from '../../lib/auth';
import { num } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { NewQueue } from './NewQueue';
import { queuePage } from './queries';
import { Reviewer } from './Reviewer';
import '../../components/ui.css';
import './review.css';

/** /review (the tenant's annotation queues) and /review/:id (the reviewer's page of one queue). */
export default function Review() {
  return (
    <Routes>
      <Route index element={<QueueList />} />
      <Route
        path=":id"
        element={
          <WithId what="annotation queue" back={{ to: '/review', label: 'Review' }}>
            <Reviewer />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={{ to: '/review', label: 'Review' }} />} />
    </Routes>
  );
}

function QueueList() {
  const { can } = useAuth();
  const [offset, setOffset] = useState(0);
  const list = useApiQuery({ ...queuePage(offset), placeholderData: keepPreviousData });
  return (
    <section>
      <div className="page-head">
        <h1>Review</h1>
      </div>
      <p className="muted">
        Annotation queues: runs set aside for people to score, one at a time, against a queue's score configs.
      </p>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No annotation queues yet">
          <p>Make one below and fill it from a filter of runs or an experiment's items.</p>
        </EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <TableWrap label="Annotation queues table">
          <table>
            <thead>
              <tr>
                <th>Queue</th>
                <th>Pending</th>
                <th>Claimed</th>
                <th>Done</th>
                <th>Skipped</th>
                <th>Scores</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((q) => (
                <tr key={q.id}>
                  <td>
                    <Link to={`/review/${q.id}`}>{q.name}</Link>
                  </td>
                  <td>{num(q.counts.pending)}</td>
                  <td>{num(q.counts.claimed)}</td>
                  <td>{num(q.counts.done)}</td>
                  <td>{num(q.counts.skipped)}</td>
                  <td>{q.score_configs.map((c) => c.name).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Queue pages" offset={offset} page={list.data} onOffset={setOffset} />
      {can('write') ? <NewQueue /> : null}
    </section>
  );
}
