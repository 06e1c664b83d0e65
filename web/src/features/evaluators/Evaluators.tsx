import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes, useNavigate } from 'react-router';
import { TableWrap } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { NotFound, WithId } from '../../components/NotFound';
import { Pager } from '../../components/Pager';
import { api, type paths, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { evaluatorKinds } from '../../lib/resources';
import { EvaluatorForm } from './EvaluatorForm';
import { EvaluatorView } from './EvaluatorView';
import { evaluatorKeys, evaluatorPage } from './queries';
import '../../components/ui.css';

type Body = NonNullable<paths['/v1/evaluators']['post']['requestBody']>['content']['application/json'];
const back = { to: '/evaluators', label: 'Evaluators' };

/** /evaluators (the named evaluators), /evaluators/new and /evaluators/:id (one, with its versions). */
export default function Evaluators() {
  return (
    <Routes>
      <Route index element={<EvaluatorList />} />
      <Route path="new" element={<NewEvaluator />} />
      <Route
        path=":id"
        element={
          <WithId what="evaluator" back={back}>
            <EvaluatorView />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={back} />} />
    </Routes>
  );
}

function EvaluatorList() {
  const { can } = useAuth();
  const [offset, setOffset] = useState(0);
  const list = useApiQuery({ ...evaluatorPage(offset), placeholderData: keepPreviousData });
  return (
    <section>
      <div className="page-head">
        <h1>Evaluators</h1>
        {can('write') ? (
          <Link className="button" to="/evaluators/new">
            New evaluator
          </Link>
        ) : null}
      </div>
      <p className="muted">
        Named evaluators, reused by name in experiments, an agent’s live evaluators and release gates. Every
        change is a new version; an experiment records the version it ran.
      </p>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No named evaluators yet">
          <p>Name one (a judge with its rubric, a regex…) to pick it by name in experiments.</p>
        </EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <TableWrap label="Evaluators table">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Version</th>
                <th>Description</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/evaluators/${e.id}`}>{e.name}</Link>
                  </td>
                  <td>{String(e.spec.type)}</td>
                  <td>{e.version}</td>
                  <td>{e.description || '—'}</td>
                  <td>{when(e.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Evaluator pages" offset={offset} page={list.data} onOffset={setOffset} />
    </section>
  );
}

function NewEvaluator() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const kinds = useApiQuery({ ...evaluatorKinds(), staleTime: 300_000 });
  const create = useMutation({
    mutationFn: async (body: Body) => unwrap(await api.POST('/v1/evaluators', { body })),
    onSuccess: (e) => {
      void client.invalidateQueries({ queryKey: evaluatorKeys.all });
      navigate(`/evaluators/${e.id}`);
    },
  });
  return (
    <section>
      <p>
        <Link to="/evaluators">← Evaluators</Link>
      </p>
      <h1>New evaluator</h1>
      <ErrorNote error={kinds.error} />
      {kinds.data ? (
        <EvaluatorForm
          kinds={kinds.data}
          isNew
          submitLabel="Create evaluator"
          busy={create.isPending}
          error={create.error}
          onSubmit={(w) =>
            create.mutate({
              name: w.name,
              ...(w.description.trim() && { description: w.description.trim() }),
              spec: w.spec,
            } as Body)
          }
        />
      ) : (
        <p className="muted">Loading the kinds…</p>
      )}
    </section>
  );
}
