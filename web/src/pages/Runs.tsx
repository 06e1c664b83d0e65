import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Route, Routes, useSearchParams } from 'react-router';
import { api, type paths, unwrap } from '../api';
import { EmptyState } from '../components/EmptyState';
import { ErrorNote } from '../components/ErrorNote';
import { useAgents } from '../ops/agents';
import { duration, sinceOf, usd, type Window, when, windows } from '../ops/format';
import { RunTrace } from '../ops/RunTrace';
import { StatusBadge } from '../ops/StatusBadge';
import '../ops/ops.css';
import { TableWrap } from '../ops/Code';

type Status = NonNullable<NonNullable<paths['/v1/runs']['get']['parameters']['query']>['status']>;
// Keyed by the statuses of the server's schema (the OpenAPI types), so a status it adds and this
// list lacks fails `tsc`, as does one it drops.
const statuses = Object.keys({
  queued: 0,
  running: 0,
  input_required: 0,
  interrupted: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
} satisfies Record<Status, 0>) as Status[];

export default function Runs() {
  return (
    <Routes>
      <Route index element={<RunList />} />
      <Route path=":id" element={<RunTrace />} />
    </Routes>
  );
}

/** Runs newest first, filtered by agent, status, time, error, task or session; cursor pages. */
function RunList() {
  const agents = useAgents();
  // Task and session come from links (a task's page, a session); the rest from the form.
  const [params, setParams] = useSearchParams();
  const [window, setWindow] = useState<Window>('any');
  const filter = (k: string) => params.get(k) ?? undefined;
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  const query = {
    agent_id: filter('agent_id'),
    status: filter('status') as Status | undefined,
    has_error: filter('has_error') as 'true' | 'false' | undefined,
    task_id: filter('task_id'),
    session_id: filter('session_id'),
    since: sinceOf(window),
    limit: 50,
  };
  const runs = useInfiniteQuery({
    queryKey: ['runs', query],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET('/v1/runs', { params: { query: { ...query, cursor: pageParam } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: 5000,
  });
  const rows = runs.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <section>
      <h1>Runs</h1>
      <form className="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <label>
          Agent
          <select value={query.agent_id ?? ''} onChange={(e) => set('agent_id', e.target.value)}>
            <option value="">any</option>
            {agents.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={query.status ?? ''} onChange={(e) => set('status', e.target.value)}>
            <option value="">any</option>
            {statuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Errors
          <select value={query.has_error ?? ''} onChange={(e) => set('has_error', e.target.value)}>
            <option value="">any</option>
            <option value="true">with an error</option>
            <option value="false">without errors</option>
          </select>
        </label>
        <label>
          Started
          <select value={window} onChange={(e) => setWindow(e.target.value as Window)}>
            {Object.keys(windows).map((w) => (
              <option key={w} value={w}>
                {w === 'any' ? 'any time' : `last ${w}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          Task id
          <input
            value={query.task_id ?? ''}
            onChange={(e) => set('task_id', e.target.value.trim())}
            size={12}
          />
        </label>
        <label>
          Session id
          <input
            value={query.session_id ?? ''}
            onChange={(e) => set('session_id', e.target.value.trim())}
            size={12}
          />
        </label>
      </form>
      <ErrorNote error={runs.error} />
      {runs.data && rows.length === 0 ? (
        <EmptyState title="No run matches these filters">
          <p>
            A run is one agent answering once: chat in the Playground, or create a task, and its run appears
            here.
          </p>
        </EmptyState>
      ) : null}
      {rows.length > 0 ? (
        <TableWrap label="Runs table">
          <table>
            <thead>
              <tr>
                <th>Run</th>
                <th>Agent</th>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Tokens</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link to={`/runs/${r.id}`}>{r.id.slice(-8)}</Link>
                    {r.has_error ? <span className="badge badge-error">error</span> : null}
                  </td>
                  <td>{r.agent_name ?? r.agent_id.slice(-8)}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{when(r.started_at ?? r.created_at)}</td>
                  <td>{duration(r.duration_ms)}</td>
                  <td>{r.usage.total_tokens}</td>
                  <td>{usd(r.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {runs.hasNextPage ? (
        <button
          type="button"
          className="secondary"
          onClick={() => runs.fetchNextPage()}
          disabled={runs.isFetchingNextPage}
        >
          Older runs
        </button>
      ) : null}
    </section>
  );
}
