import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { count } from '../../lib/format';
import { type Experiment, experimentKeys } from './queries';

/**
 * Cancel a running experiment (the items running finish and are recorded), resume a stopped one
 * with its unfinished items, delete a finished one and its results (after a question).
 */
export function ExperimentActions({ experiment: e }: { experiment: Experiment }) {
  const { can } = useAuth();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const act = useMutation({
    mutationFn: async (action: 'cancel' | 'resume') =>
      unwrap(await api.POST(`/v1/experiments/{id}/${action}`, { params: { path: { id: e.id } } })),
    onSettled: () => client.invalidateQueries({ queryKey: experimentKeys.all }),
  });
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE('/v1/experiments/{id}', { params: { path: { id: e.id } } })),
    onSuccess: () => {
      // The deleted experiment's own queries are not asked again (they would answer 404).
      void client.invalidateQueries({
        queryKey: experimentKeys.all,
        predicate: (q) => !q.queryKey.includes(e.id),
      });
      navigate('/experiments');
    },
  });
  if (!can('write')) return null;
  const running = e.status === 'running';
  const unfinished = e.progress.pending + e.progress.running;
  // Items running when it was stopped finish first: a resume then hands out only what is left.
  const finishing = running ? 0 : e.progress.running;
  const resumable = !running && e.status !== 'completed' && unfinished > 0 && finishing === 0;
  return (
    <>
      <div className="actions">
        {running ? (
          <BusyButton
            className="secondary"
            busy={act.isPending}
            busyReason="Cancelling…"
            onClick={() => act.mutate('cancel')}
          >
            Cancel experiment
          </BusyButton>
        ) : null}
        {resumable ? (
          <BusyButton busy={act.isPending} busyReason="Resuming…" onClick={() => act.mutate('resume')}>
            Resume ({unfinished} left)
          </BusyButton>
        ) : null}
        {finishing > 0 ? (
          <span role="status" className="muted">
            {count(finishing, 'item')} still finishing; it can be resumed once they are recorded.
          </span>
        ) : null}
        {running ? null : (
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete experiment
          </button>
        )}
      </div>
      <ErrorNote error={act.error} />
      {deleting ? (
        <ConfirmDialog
          action={`Delete ${e.name}`}
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate()}
          onCancel={() => setDeleting(false)}
        >
          Delete the experiment <strong>{e.name}</strong> and all its results? This cannot be undone.
        </ConfirmDialog>
      ) : null}
    </>
  );
}
