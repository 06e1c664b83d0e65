import { useEffect, useState } from 'react';
import { Link, Route, Routes, useSearchParams } from 'react-router';
import { AgentOptions } from '../../components/AgentOptions';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { NotFound, WithId } from '../../components/NotFound';
import { StatusBadge } from '../../components/StatusBadge';
import { duration, num, sinceOf, usd, type Window, when, windows } from '../../lib/format';
import { useApiInfiniteQuery, useApiQuery } from '../../lib/query';
import { allAgents } from '../../lib/resources';
import { authorizedFetch, followStream } from '../../lib/sse';
import { useUrlState } from '../../lib/url-state';
import { AppBadge } from './AppBadge';
import { type RunFilters, type RunSummary, runList, type RunStatus as Status } from './queries';
import { RunCompare } from './RunCompare';
import { RunsToDataset } from './RunsToDataset';
import { RunTrace } from './RunTrace';
import '../../components/ui.css';
import './runs.css';

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

/** /runs (the list), /runs/compare?a=&b= (two runs side by side) and /runs/:id (a run's trace). */
export default function Runs() {
  return (
    <Routes>
      <Route index element={<RunList />} />
      <Route path="compare" element={<RunCompare />} />
      <Route
        path=":id"
        element={
          <WithId what="run" back={{ to: '/runs', label: 'Runs' }}>
            <RunTrace />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={{ to: '/runs', label: 'Runs' }} />} />
    </Routes>
  );
}

/**
 * Runs newest first, searched by text and filtered by agent, status, time, error, cost, task or session;
 * cursor pages with the total, and the runs created meanwhile added live (the server's run tail).
 */
function RunList() {
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  // Task and session come from links (a task's page, a session); the rest from the form.
  const [params, setParams] = useSearchParams();
  const [window, setWindow] = useUrlState<Window>('window', 'any', Object.keys(windows) as Window[]);
  const filter = (k: string) => params.get(k) ?? undefined;
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  const cost = costRange(filter('min_cost'), filter('max_cost'));
  const scoreMin = scoreBound(filter('score_min'), filter('score_name'));
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const choose = (id: string, on: boolean) =>
    setChosen((c) => {
      const next = new Set(c);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const query = {
    agent_id: filter('agent_id'),
    service: filter('service'),
    min_cost: cost.min,
    max_cost: cost.max,
    status: filter('status') as Status | undefined,
    has_error: filter('has_error') as 'true' | 'false' | undefined,
    task_id: filter('task_id'),
    session_id: filter('session_id'),
    q: filter('q'),
    score_name: filter('score_name'),
    score_min: scoreMin.value,
    since: sinceOf(window),
  };
  const runs = useApiInfiniteQuery({ ...runList(query), refetchInterval: 5000 });
  // Off until asked for (`?live=1`, so a followed list can be linked): a tail holds a connection open.
  const live = params.get('live') === '1';
  const tail = useRunTail(live ? query : undefined);
  const listed = runs.data?.pages.flatMap((p) => p.data) ?? [];
  // A run the tail brought stays until the list has it (the list's copy is the newer).
  const known = new Set(listed.map((r) => r.id));
  const added = tail.runs.filter((r) => !known.has(r.id));
  const rows = runs.data ? [...added, ...listed] : [];
  const total = runs.data ? (runs.data.pages[0]?.total ?? 0) + added.length : undefined;
  return (
    <section>
      <div className="page-head">
        <h1>Runs</h1>
        {total === undefined ? null : <span className="muted">{num(total)} in all</span>}
        <button
          type="button"
          className="secondary"
          aria-pressed={live}
          onClick={() => set('live', live ? '' : '1')}
        >
          {live ? 'Following new runs' : 'Follow new runs'}
        </button>
      </div>
      <p className="muted small" role="status">
        {tail.error ? 'The live tail stopped; the list still refreshes every few seconds.' : tail.note}
      </p>
      <form className="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            value={query.q ?? ''}
            placeholder="text in input or output"
            onChange={(e) => set('q', e.target.value)}
            size={24}
          />
        </label>
        <label>
          Agent
          <select value={query.agent_id ?? ''} onChange={(e) => set('agent_id', e.target.value)}>
            <option value="">any</option>
            <AgentOptions agents={agents.data ?? []} />
          </select>
        </label>
        <label>
          App
          <input
            value={query.service ?? ''}
            placeholder="service.name of traced apps"
            onChange={(e) => set('service', e.target.value.trim())}
            size={14}
          />
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
          Min cost (USD)
          <input
            inputMode="decimal"
            value={filter('min_cost') ?? ''}
            onChange={(e) => set('min_cost', e.target.value.trim())}
            size={7}
            aria-invalid={Boolean(cost.errors.min)}
            aria-describedby={cost.errors.min ? 'min-cost-error' : undefined}
          />
        </label>
        <label>
          Max cost (USD)
          <input
            inputMode="decimal"
            value={filter('max_cost') ?? ''}
            onChange={(e) => set('max_cost', e.target.value.trim())}
            size={7}
            aria-invalid={Boolean(cost.errors.max)}
            aria-describedby={cost.errors.max ? 'max-cost-error' : undefined}
          />
        </label>
        {cost.errors.min ? (
          <p id="min-cost-error" className="field-error">
            {cost.errors.min}
          </p>
        ) : null}
        {cost.errors.max ? (
          <p id="max-cost-error" className="field-error">
            {cost.errors.max}
          </p>
        ) : null}
        <label>
          Score
          <input
            value={filter('score_name') ?? ''}
            placeholder="name, e.g. helpful"
            onChange={(e) => set('score_name', e.target.value.trim())}
            size={12}
          />
        </label>
        <label>
          Score at least
          <input
            inputMode="decimal"
            value={filter('score_min') ?? ''}
            onChange={(e) => set('score_min', e.target.value.trim())}
            size={5}
            aria-invalid={Boolean(scoreMin.error)}
            aria-describedby={scoreMin.error ? 'score-min-error' : undefined}
          />
        </label>
        {scoreMin.error ? (
          <p id="score-min-error" className="field-error">
            {scoreMin.error}
          </p>
        ) : null}
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
            here. An app that sends its OpenTelemetry traces to /v1/traces has a run per trace.
          </p>
        </EmptyState>
      ) : null}
      {chosen.size > 0 ? <RunsToDataset runIds={[...chosen]} onDone={() => setChosen(new Set())} /> : null}
      {rows.length > 0 ? (
        <TableWrap label="Runs table">
          <table>
            <thead>
              <tr>
                <th>
                  <span className="sr-only">Choose</span>
                </th>
                <th>Run</th>
                <th>Agent or app</th>
                <th>Input</th>
                <th>Output</th>
                <th>Scores</th>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Tokens</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} className={known.has(r.id) ? undefined : 'fresh'}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Choose run ${r.id.slice(-8)}`}
                      checked={chosen.has(r.id)}
                      onChange={(e) => choose(r.id, e.target.checked)}
                    />
                  </td>
                  <td>
                    <Link to={`/runs/${r.id}`}>{r.id.slice(-8)}</Link>
                    {r.has_error ? <span className="badge badge-error">error</span> : null}
                  </td>
                  <td>
                    {r.service_name === null ? (
                      <>
                        {r.agent_name ?? r.agent_id.slice(-8)}
                        {r.agent_version === null ? null : <span className="muted"> v{r.agent_version}</span>}
                      </>
                    ) : (
                      <AppBadge service={r.service_name} />
                    )}
                  </td>
                  <td className="preview" title={r.input}>
                    {preview(r.input)}
                  </td>
                  <td className="preview" title={r.output ?? undefined}>
                    {r.output === null ? <span className="muted">—</span> : preview(r.output)}
                  </td>
                  <td>
                    {r.scores.map((s) => (
                      <span key={s.name} className="badge" title={`${s.name}: ${s.value}`}>
                        {s.name} {Number(s.value.toPrecision(3))}
                      </span>
                    ))}
                  </td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{when(r.started_at ?? r.created_at)}</td>
                  <td>{duration(r.duration_ms)}</td>
                  <td>{num(r.usage.total_tokens)}</td>
                  <td>{usd(r.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {runs.hasNextPage ? (
        <BusyButton
          className="secondary"
          onClick={() => runs.fetchNextPage()}
          busy={runs.isFetchingNextPage}
          busyReason="Loading older runs…"
        >
          Older runs
        </BusyButton>
      ) : null}
    </section>
  );
}

/** The first line of a run's text, cut to fit a column. */
const preview = (text: string) => {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
};

/** The score filter's lower bound: a number, and only with a score's name (the API needs both). */
function scoreBound(min: string | undefined, name: string | undefined) {
  if (min === undefined || min === '') return { value: undefined };
  const n = Number(min);
  if (!Number.isFinite(n)) return { error: 'A number, e.g. 0.8.' };
  if (!name) return { error: "Name the score too (the filter's Score field)." };
  return { value: n };
}

/**
 * The cost filter's two fields as the list's query: a bound that is no amount, or a range that cannot
 * hold a run, is named on its field and left out of the query (the list stays as it was filtered).
 */
function costRange(min: string | undefined, max: string | undefined) {
  const amount = (v: string | undefined) => {
    if (v === undefined || v === '') return { value: undefined };
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? { value: n } : { error: 'An amount in dollars, e.g. 0.01.' };
  };
  const lo = amount(min);
  const hi = amount(max);
  const crossed =
    lo.value !== undefined && hi.value !== undefined && hi.value < lo.value
      ? 'The maximum is below the minimum.'
      : undefined;
  return {
    min: lo.error || crossed ? undefined : lo.value,
    max: hi.error || crossed ? undefined : hi.value,
    errors: { min: lo.error, max: hi.error ?? crossed },
  };
}

/**
 * The runs created since the page opened under these filters, from the server's tail
 * (`GET /v1/runs/tail`), newest first; none while `filters` is undefined (live off).
 */
function useRunTail(filters: RunFilters | undefined) {
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState(false);
  const search = filters ? tailSearch(filters) : undefined;
  useEffect(() => {
    setRuns([]);
    setError(undefined);
    setOpen(false);
    if (search === undefined) return;
    const abort = new AbortController();
    let last: string | undefined;
    const path = (after?: string) => `/v1/runs/tail?${search}${after ? `&after=${after}` : ''}`;
    followStream({
      open: async (signal) => {
        const res = await authorizedFetch(path(), { headers: { accept: 'text/event-stream' }, signal });
        // The tail counts from the newest run when it answers: from here a new run will come.
        setOpen(res.ok);
        return res;
      },
      resumeAt: () => path(last),
      onEvent: (e) => {
        const run = e.data as unknown as RunSummary;
        last = run.id;
        setRuns((l) => [run, ...l.filter((r) => r.id !== run.id)]);
      },
      signal: abort.signal,
    }).catch((err) => {
      if (!abort.signal.aborted) setError(err);
    });
    return () => abort.abort();
  }, [search]);
  const note =
    runs.length > 0
      ? `${num(runs.length)} new ${runs.length === 1 ? 'run' : 'runs'} since the page opened`
      : open && search !== undefined
        ? 'Following: no new run yet'
        : '';
  return { runs, error, note };
}

/** The filters as a query string (undefined ones left out), the tail's and its effect's key. */
function tailSearch(filters: RunFilters): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== '') params.set(k, String(v));
  return params.toString();
}
