import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Code } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { LoadError } from '../../components/NotFound';
import { StatusBadge } from '../../components/StatusBadge';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { pretty, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { authorizedFetch, followStream } from '../../lib/sse';
import { runsOfTask, taskCallbacks, taskDetail } from './queries';

interface TaskEvent {
  seq: string;
  type: string;
  at?: string;
  data: Record<string, unknown>;
}

/** One task: its fields, attempts, live event timeline, callback deliveries and the run it produced. */
export function TaskDetail() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const client = useQueryClient();
  const task = useApiQuery(taskDetail(id));
  // Refetched on every task event (below): a retry's new run shows even when the task ends as it was.
  const runs = useApiQuery({ ...runsOfTask(id), enabled: Boolean(task.data) });
  const callbacks = useApiQuery({
    ...taskCallbacks(id, task.data?.callback_attempts),
    enabled: Boolean(task.data?.callback_url),
  });
  const events = useTaskEvents(id, () => {
    void client.invalidateQueries({ queryKey: taskDetail(id).queryKey });
    void client.invalidateQueries({ queryKey: runsOfTask(id).queryKey });
  });

  const act = useMutation({
    mutationFn: async (action: 'cancel' | 'retry') =>
      unwrap(
        action === 'cancel'
          ? await api.POST('/v1/tasks/{id}/cancel', { params: { path: { id } } })
          : await api.POST('/v1/tasks/{id}/retry', { params: { path: { id } } }),
      ),
    onSuccess: (t) => {
      client.setQueryData(taskDetail(id).queryKey, t);
      events.restart();
    },
  });

  if (task.error) return <LoadError error={task.error} what="task" back={{ to: '/tasks', label: 'Tasks' }} />;
  const t = task.data;
  if (!t) return <p className="muted">Loading…</p>;
  const failedRun = runs.data?.find((r) => r.has_error);
  return (
    <section>
      <p>
        <Link to="/tasks">← Tasks</Link>
      </p>
      <div className="page-head">
        <h1>{t.title}</h1>
        <StatusBadge status={t.status} />
      </div>
      {can('write') ? (
        <div className="actions">
          {t.status === 'pending' || t.status === 'in_progress' ? (
            <button
              type="button"
              className="danger"
              onClick={() => act.mutate('cancel')}
              disabled={act.isPending}
            >
              Cancel task
            </button>
          ) : null}
          {t.status === 'failed' || t.status === 'cancelled' ? (
            <button type="button" onClick={() => act.mutate('retry')} disabled={act.isPending}>
              Retry task
            </button>
          ) : null}
        </div>
      ) : null}
      <ErrorNote error={act.error} />
      {t.status === 'failed' ? (
        <div className="error" role="status">
          Failed: {t.error_message}{' '}
          {(failedRun ?? runs.data?.[0]) ? (
            <Link to={`/runs/${(failedRun ?? runs.data![0]!).id}`}>Open the run that failed</Link>
          ) : null}
        </div>
      ) : null}
      <dl className="facts">
        <dt>Type</dt>
        <dd>{t.task_type}</dd>
        <dt>Attempts</dt>
        <dd>
          {t.attempts} of {t.max_attempts}
        </dd>
        <dt>Created</dt>
        <dd>{when(t.created_at)}</dd>
        <dt>Started</dt>
        <dd>{when(t.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{when(t.completed_at)}</dd>
        {t.result_summary ? (
          <>
            <dt>Result</dt>
            <dd className="prewrap">{t.result_summary}</dd>
          </>
        ) : null}
      </dl>
      <h2>Payload</h2>
      <Code label="Payload">{pretty(t.payload ?? {})}</Code>
      <h2>Runs</h2>
      {runs.data && runs.data.length > 0 ? (
        <ul>
          {runs.data.map((r) => (
            <li key={r.id}>
              <Link to={`/runs/${r.id}`}>Run {r.id.slice(-8)}</Link> <StatusBadge status={r.status} />{' '}
              {when(r.created_at)}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No run yet: the task runs when a worker takes it.</p>
      )}
      <h2>Event timeline</h2>
      <ErrorNote error={events.error} />
      <ol className="timeline" aria-live="polite">
        {events.list.map((e) => (
          <li key={e.seq}>
            <strong>{e.type}</strong> <span className="muted">{when(e.at)}</span>
            {Object.keys(e.data).length > 0 ? (
              <Code label={`${e.type} event`} className="small">
                {pretty(e.data)}
              </Code>
            ) : null}
          </li>
        ))}
      </ol>
      {t.callback_url ? (
        <>
          <h2>Callback deliveries</h2>
          <ErrorNote error={callbacks.error} />
          <table>
            <thead>
              <tr>
                <th>URL</th>
                <th>Attempts</th>
                <th>Last status</th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {callbacks.data?.map((c) => (
                <tr key={c.id}>
                  <td>{c.url}</td>
                  <td>{c.attempts}</td>
                  <td>{c.last_status ?? '—'}</td>
                  <td>
                    {c.delivered_at
                      ? `delivered ${when(c.delivered_at)}`
                      : c.given_up_at
                        ? 'given up'
                        : `next try ${when(c.next_attempt_at)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

/** The task's event log, replayed and then followed live; `onEvent` runs for every new event. */
function useTaskEvents(id: string, onEvent: () => void) {
  const [list, setList] = useState<TaskEvent[]>([]);
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new generation follows the stream again (after a retry)
  useEffect(() => {
    const abort = new AbortController();
    setList([]);
    const path = `/v1/tasks/${id}/events`;
    followStream({
      open: (signal) => authorizedFetch(path, { headers: { accept: 'text/event-stream' }, signal }),
      resumeAt: () => path,
      onEvent: (e) => {
        const { type: _, at, ...data } = e.data as { type: string; at?: string };
        const seq = String(e.id);
        setList((l) => (l.some((x) => x.seq === seq) ? l : [...l, { seq, type: e.type, at, data }]));
        onEvent();
      },
      signal: abort.signal,
    }).catch((err) => {
      if (!abort.signal.aborted) setError(err);
    });
    return () => abort.abort();
  }, [id, generation]);
  return { list, error, restart: () => setGeneration((g) => g + 1) };
}
