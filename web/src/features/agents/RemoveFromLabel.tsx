import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { api, unwrap } from '../../lib/api';
import { agentKeys } from './queries';

/** What is taken away: the label from its version (a gate stays), or the label's gate. */
export interface Removal {
  label: string;
  what: 'label' | 'gate';
  version: number | null;
}

/** Asks before taking a label off its version or removing its gate (both journaled). */
export function RemoveFromLabel({
  id,
  removal: r,
  onDone,
}: {
  id: string;
  removal: Removal;
  onDone: () => void;
}) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: async () => {
      const params = { path: { id, label: r.label } };
      return r.what === 'label'
        ? unwrap(await api.DELETE('/v1/agents/{id}/labels/{label}', { params }))
        : unwrap(await api.DELETE('/v1/agents/{id}/labels/{label}/gate', { params }));
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: agentKeys.all });
      onDone();
    },
  });
  return (
    <ConfirmDialog
      action={r.what === 'label' ? `Take ${r.label} off` : `Remove the gate of ${r.label}`}
      busy={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
      onCancel={onDone}
    >
      {r.what === 'label'
        ? `Take ${r.label} off version ${r.version}? Whatever names the agent as @${r.label} stops finding it until the label is moved again; its gate, if any, stays.`
        : `Remove the gate of ${r.label}? It then moves to any version, with no experiment asked for.`}
    </ConfirmDialog>
  );
}
