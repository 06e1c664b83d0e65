import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Code } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { pretty } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { runDetail } from '../../lib/resources';

/**
 * A run stopped because a tool call that is not idempotent was in flight when its process died
 * (docs/durability.md): whether the call took effect is unknown, so a person decides. Shows the
 * calls as the model asked for them, arguments and all, with Resume (the calls run again and the
 * run carries on) and Cancel.
 */
export function InterruptedRun({ runId, message }: { runId: string; message: string }) {
  const { can } = useAuth();
  const client = useQueryClient();
  const run = useApiQuery(runDetail(runId));
  const act = useMutation({
    mutationFn: async (action: 'resume' | 'cancel') =>
      unwrap(
        action === 'resume'
          ? await api.POST('/v1/runs/{id}/resume', { params: { path: { id: runId } } })
          : await api.POST('/v1/runs/{id}/cancel', {
              params: { path: { id: runId } },
              body: { reason: 'cancelled in the console' },
            }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: resourceKey('runs') });
    },
  });
  const calls = run.data?.pending_tool_calls ?? [];
  return (
    <section aria-label="Interrupted run" className="panel">
      <div className="error" role="status">
        {message}
      </div>
      <p>
        The process running this run stopped while the call below was in flight; it may or may not have taken
        effect. Check, then resume (the call runs again) or cancel the run.
      </p>
      <ErrorNote error={run.error} />
      {calls.map((c) => (
        <div key={c.id}>
          <h3>
            {c.name} <span className="muted">({c.id})</span>
          </h3>
          <Code label={`Arguments of ${c.name}`}>{pretty(c.arguments)}</Code>
        </div>
      ))}
      {can('write') ? (
        <div className="actions">
          <button type="button" onClick={() => act.mutate('resume')} disabled={act.isPending}>
            Resume
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => act.mutate('cancel')}
            disabled={act.isPending}
          >
            Cancel
          </button>
        </div>
      ) : null}
      <ErrorNote error={act.error} />
    </section>
  );
}
