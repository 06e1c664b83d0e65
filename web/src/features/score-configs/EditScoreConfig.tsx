import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { LoadError } from '../../components/NotFound';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { type ScoreConfig, scaleOf, scoreConfigDetail, scoreConfigKeys } from './queries';

const back = { to: '/score-configs', label: 'Score configs' };

/** One score config: its scale (fixed), its description (editable), archive, restore or delete. */
export function EditScoreConfig() {
  const { id = '' } = useParams();
  const config = useApiQuery(scoreConfigDetail(id));
  if (config.error) return <LoadError error={config.error} what="score config" back={back} />;
  if (!config.data) return <p className="muted">Loading…</p>;
  return <ConfigView key={config.data.id} c={config.data} />;
}

function ConfigView({ c }: { c: ScoreConfig }) {
  const { can } = useAuth();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [description, setDescription] = useState(c.description);
  const [saved, setSaved] = useState(false);
  const [asking, setAsking] = useState(false);
  const refresh = () => client.invalidateQueries({ queryKey: scoreConfigKeys.all });
  const patch = useMutation({
    mutationFn: async (body: { description?: string; archived?: boolean }) =>
      unwrap(await api.PATCH('/v1/score-configs/{id}', { params: { path: { id: c.id } }, body })),
    onSuccess: (_, body) => {
      setSaved(body.description !== undefined);
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: async () => {
      const r = await api.DELETE('/v1/score-configs/{id}', { params: { path: { id: c.id } } });
      unwrap(r);
      return r.response.status;
    },
    onSuccess: (status) => {
      // Marked stale, not fetched now: this page's own config is gone, and the list fetches as it opens.
      void client.invalidateQueries({
        queryKey: scoreConfigKeys.all,
        refetchType: status === 204 ? 'none' : 'active',
      });
      // 200: scores name it, so it was archived rather than deleted; the page shows it so.
      if (status === 204) navigate('/score-configs');
      else setAsking(false);
    },
  });
  const form = useFieldErrors({ error: patch.error });
  const writable = can('write');
  return (
    <section>
      <p>
        <Link to="/score-configs">← Score configs</Link>
      </p>
      <h1>{c.name}</h1>
      {c.archived_at ? (
        <p className="banner">
          Archived {when(c.archived_at)}: new scores cannot name it; the scores that did keep its scale.
        </p>
      ) : null}
      <dl className="facts">
        <dt>Kind</dt>
        <dd>{c.kind}</dd>
        <dt>Scale</dt>
        <dd>{scaleOf(c)}</dd>
        <dt>Created</dt>
        <dd>
          {when(c.created_at)}
          {c.created_by ? ` by ${c.created_by}` : ''}
        </dd>
      </dl>
      <p className="muted">A config’s kind and scale never change: a different scale is a new config.</p>
      <form
        className="stack"
        aria-label="Edit score config"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const p = new Map(description.length > 2000 ? [['description', 'At most 2,000 characters.']] : []);
          if (form.check(p)) patch.mutate({ description });
        }}
      >
        <div className="field">
          <label htmlFor={form.input('description').id}>Description</label>
          <input
            {...form.bind('description', (v) => {
              setDescription(v);
              setSaved(false);
            })}
            value={description}
            disabled={!writable}
          />
          <FieldError form={form} k="description" />
        </div>
        {writable ? (
          <div className="actions">
            <BusyButton type="submit" busy={patch.isPending} busyReason="Saving…">
              Save description
            </BusyButton>
            <button
              type="button"
              className="secondary"
              disabled={patch.isPending}
              onClick={() => patch.mutate({ archived: !c.archived_at })}
            >
              {c.archived_at ? 'Restore' : 'Archive'}
            </button>
            <button type="button" className="danger" onClick={() => setAsking(true)}>
              Delete
            </button>
          </div>
        ) : null}
        {saved ? (
          <p role="status" className="ok-note">
            Saved.
          </p>
        ) : null}
        <FormProblems form={form} />
        <ErrorNote error={form.unplaced(patch.error)} />
      </form>
      {asking ? (
        <ConfirmDialog
          action={`Delete ${c.name}`}
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate()}
          onCancel={() => setAsking(false)}
        >
          Delete the score config {c.name}? If scores already name it, it is archived instead.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
