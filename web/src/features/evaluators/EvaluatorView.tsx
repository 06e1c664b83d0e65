import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { Code, TableWrap } from '../../components/Code';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { LoadError } from '../../components/NotFound';
import { Pager } from '../../components/Pager';
import { api, type paths, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { pretty, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { evaluatorKinds } from '../../lib/resources';
import { EvaluatorForm } from './EvaluatorForm';
import { evaluatorDetail, evaluatorKeys, evaluatorVersions, type NamedEvaluator } from './queries';

type Body = NonNullable<paths['/v1/evaluators/{ref}']['put']['requestBody']>['content']['application/json'];
const back = { to: '/evaluators', label: 'Evaluators' };

/** One named evaluator: its newest version, every version newest first, a new version, delete. */
export function EvaluatorView() {
  const { id = '' } = useParams();
  const evaluator = useApiQuery(evaluatorDetail(id));
  if (evaluator.error) return <LoadError error={evaluator.error} what="evaluator" back={back} />;
  if (!evaluator.data) return <p className="muted">Loading…</p>;
  return <Loaded e={evaluator.data} />;
}

function Loaded({ e }: { e: NamedEvaluator }) {
  const { can } = useAuth();
  const client = useQueryClient();
  const navigate = useNavigate();
  const kinds = useApiQuery({ ...evaluatorKinds(), staleTime: 300_000 });
  const [editing, setEditing] = useState(false);
  const [asking, setAsking] = useState(false);
  const next = useMutation({
    mutationFn: async (body: Body) =>
      unwrap(await api.PUT('/v1/evaluators/{ref}', { params: { path: { ref: e.id } }, body })),
    onSuccess: () => {
      setEditing(false);
      void client.invalidateQueries({ queryKey: evaluatorKeys.all });
    },
  });
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE('/v1/evaluators/{ref}', { params: { path: { ref: e.id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: evaluatorKeys.all });
      navigate('/evaluators');
    },
  });
  const writable = can('write') && !e.deleted_at;
  return (
    <section>
      <p>
        <Link to="/evaluators">← Evaluators</Link>
      </p>
      <div className="page-head">
        <h1>{e.name}</h1>
        {writable ? (
          <div className="actions">
            <button type="button" onClick={() => setEditing(true)} disabled={editing}>
              New version
            </button>
            <button type="button" className="danger" onClick={() => setAsking(true)}>
              Delete
            </button>
          </div>
        ) : null}
      </div>
      {e.deleted_at ? (
        <p className="banner">Deleted {when(e.deleted_at)}; experiments keep what they ran.</p>
      ) : null}
      <p>{e.description || <span className="muted">No description.</span>}</p>
      <p className="muted">
        Pick it by name in an experiment: <code>{`{"ref": "${e.name}"}`}</code> (the newest version) or{' '}
        <code>{`{"ref": "${e.name}@${e.version}"}`}</code>.
      </p>
      {asking ? (
        <ConfirmDialog
          action={`Delete ${e.name}`}
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate()}
          onCancel={() => setAsking(false)}
        >
          Delete the evaluator {e.name}? Its name is free again; experiments keep the versions they ran.
        </ConfirmDialog>
      ) : null}
      {editing && kinds.data ? (
        <section className="panel" aria-labelledby="next-h">
          <h2 id="next-h">Version {e.version + 1}</h2>
          <EvaluatorForm
            kinds={kinds.data}
            initial={{ description: e.description, spec: e.spec }}
            isNew={false}
            submitLabel={`Save version ${e.version + 1}`}
            busy={next.isPending}
            error={next.error}
            onSubmit={(w) =>
              next.mutate({
                description: w.description.trim(),
                spec: w.spec,
                ...(w.message.trim() && { message: w.message.trim() }),
              } as Body)
            }
          />
          <button type="button" className="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </section>
      ) : null}
      <ErrorNote error={kinds.error} />
      <Versions id={e.id} />
    </section>
  );
}

function Versions({ id }: { id: string }) {
  const [offset, setOffset] = useState(0);
  const versions = useApiQuery({ ...evaluatorVersions(id, offset), placeholderData: keepPreviousData });
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      <ErrorNote error={versions.error} />
      {versions.data ? (
        <TableWrap label="Versions table">
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>Kind</th>
                <th>What changed</th>
                <th>Made</th>
                <th>Spec</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.data.map((v) => (
                <tr key={v.version}>
                  <td>{v.version}</td>
                  <td>{String(v.spec.type)}</td>
                  <td>{v.message ?? (v.version === 1 ? 'created' : '—')}</td>
                  <td>
                    {when(v.created_at)}
                    {v.created_by ? ` by ${v.created_by}` : ''}
                  </td>
                  <td>
                    <details>
                      <summary>Spec of version {v.version}</summary>
                      <Code label={`Spec of version ${v.version}`}>{pretty(v.spec)}</Code>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Version pages" offset={offset} page={versions.data} onOffset={setOffset} />
    </section>
  );
}
