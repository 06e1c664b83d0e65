import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { when } from '../../lib/format';
import { AgentForm } from './AgentForm';
import { bodyOf, draftOfAgent } from './draft';
import { LocalDevPanel } from './LocalDevPanel';
import { agentKeys, useAgent } from './queries';

/** One agent: every field editable (with a write key), delete with confirmation, local-dev panel. */
export function EditAgent() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  // Once deleted, the agent is not asked for again on the way out (it would answer 404).
  const [gone, setGone] = useState(false);
  const agent = useAgent(gone ? undefined : id);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const [saved, setSaved] = useState(false);

  const save = useMutation({
    mutationFn: async (body: ReturnType<typeof bodyOf>) =>
      unwrap(await api.PATCH('/v1/agents/{id}', { params: { path: { id } }, body })),
    onSuccess: (a) => {
      qc.setQueryData(agentKeys.detail(id), a);
      void qc.invalidateQueries({ queryKey: agentKeys.all });
      setSaved(true);
    },
  });
  const remove = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const x of ids) unwrap(await api.DELETE('/v1/agents/{id}', { params: { path: { id: x } } }));
    },
    onSuccess: (_, ids) => {
      setGone(true);
      navigate('/agents');
      // The lists change; the deleted agent's own queries are dropped, not fetched again (404).
      for (const x of ids) qc.removeQueries({ queryKey: agentKeys.detail(x) });
      for (const x of ids) qc.removeQueries({ queryKey: agentKeys.deployments(x) });
      void qc.invalidateQueries({
        predicate: (q) =>
          q.queryKey[0] === 'agents' && q.queryKey[1] !== 'detail' && q.queryKey[1] !== 'deployments',
      });
    },
  });

  if (agent.error) {
    return (
      <section>
        <h1>Agent</h1>
        <ErrorNote error={agent.error} />
        <Link to="/agents">Back to the agents</Link>
      </section>
    );
  }
  if (!agent.data) return <p className="muted">Loading the agent…</p>;
  const a = agent.data;
  const local = a.source === 'local' || a.env === 'pool';
  return (
    <section>
      <div className="page-head">
        <h1>{a.name}</h1>
        <div className="actions">
          <Link className="button secondary" to={`/playground?agent=${a.id}`}>
            Chat with it
          </Link>
          <Link className="button secondary" to={`/agents/${a.id}/versions`}>
            Version history
          </Link>
          {can('write') ? (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          ) : null}
        </div>
      </div>
      <p className="muted small">
        Version {a.version} · made {a.source}
        {a.template_id ? ` from template ${a.template_id}` : ''} · updated {when(a.updated_at)}
      </p>
      {confirming ? (
        <ConfirmDialog
          action={`Delete ${a.name}`}
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate([a.id])}
          onCancel={() => setConfirming(false)}
        >
          Delete <strong>{a.name}</strong>? Its sessions stay readable in runs, but it can no longer be
          chatted with. This cannot be undone.
        </ConfirmDialog>
      ) : null}
      {saved && !save.isPending ? (
        <p role="status" className="ok-note">
          Saved (version {a.version}).
        </p>
      ) : null}
      {local ? <LocalDevPanel agentId={a.id} name={a.name} /> : null}
      <AgentForm
        key={`${a.id}:${a.version}`}
        initial={draftOfAgent(a)}
        editable={can('write')}
        submitLabel="Save changes"
        busy={save.isPending}
        error={save.error}
        onSubmit={(d, dirty) => {
          setSaved(false);
          save.mutate(bodyOf(d, dirty));
        }}
      />
    </section>
  );
}
