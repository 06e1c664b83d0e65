import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import { Link, Route, Routes } from 'react-router';
import { AgentOptions } from '../../components/AgentOptions';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { NotFound, WithId } from '../../components/NotFound';
import { StatusBadge } from '../../components/StatusBadge';
import { useAuth } from '../../lib/auth';
import { sinceOf, type Window, when, windows } from '../../lib/format';
import { useApiInfiniteQuery, useApiQuery } from '../../lib/query';
import { allAgents } from '../../lib/resources';
import { useUrlState } from '../../lib/url-state';
import { type TaskFilters as Filters, type TaskStatus as Status, taskColumn, taskList } from './queries';
import { Schedules } from './Schedules';
import { TaskCreate } from './TaskCreate';
import { TaskDetail } from './TaskDetail';
import '../../components/ui.css';
import './tasks.css';

const statuses = Object.keys({
  pending: 0,
  in_progress: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
} satisfies Record<Status, 0>) as Status[];
const ROW_HEIGHT = 40;

/** /tasks (list or board), /tasks/new, /tasks/schedules, /tasks/:id. */
export default function Tasks() {
  return (
    <Routes>
      <Route index element={<TaskList />} />
      <Route path="new" element={<TaskCreate />} />
      <Route path="schedules" element={<Schedules />} />
      <Route
        path=":id"
        element={
          <WithId what="task" back={{ to: '/tasks', label: 'Tasks' }}>
            <TaskDetail />
          </WithId>
        }
      />
      <Route path="*" element={<NotFound back={{ to: '/tasks', label: 'Tasks' }} />} />
    </Routes>
  );
}

function TaskList() {
  const { can } = useAuth();
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  // Filters and the view are in the URL: `/tasks?view=board&status=failed` opens as it was left.
  const [agent, setAgent] = useUrlState('agent', '');
  const [status, setStatus] = useUrlState<Status | ''>('status', '', ['', ...statuses]);
  const [type, setType] = useUrlState('type', '');
  const [window, setWindow] = useUrlState<Window>('window', 'any', Object.keys(windows) as Window[]);
  const [view, setView] = useUrlState<'list' | 'board'>('view', 'list', ['list', 'board']);
  const filters = { agent_id: agent || undefined, task_type: type || undefined, since: sinceOf(window) };
  const agentName = (id: string) => agents.data?.find((a) => a.id === id)?.name ?? id.slice(-8);

  return (
    <section>
      <div className="page-head">
        <h1>Tasks</h1>
        <nav aria-label="Tasks" className="tabs">
          <Link to="/tasks/schedules">Schedules</Link>
          {can('write') ? (
            <Link className="button" to="/tasks/new">
              New task
            </Link>
          ) : null}
        </nav>
      </div>
      <form className="filters" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
        <label>
          Agent
          <select value={agent} onChange={(e) => setAgent(e.target.value)}>
            <option value="">any</option>
            <AgentOptions agents={agents.data ?? []} />
          </select>
        </label>
        <label>
          Type
          <input value={type} onChange={(e) => setType(e.target.value)} placeholder="any" />
        </label>
        {view === 'list' ? (
          <label>
            Status
            <select value={status} onChange={(e) => setStatus(e.target.value as Status | '')}>
              <option value="">any</option>
              {statuses.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        ) : null}
        <label>
          Created
          <select value={window} onChange={(e) => setWindow(e.target.value as Window)}>
            {Object.keys(windows).map((w) => (
              <option key={w} value={w}>
                {w === 'any' ? 'any time' : `last ${w}`}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="toggle">
          <legend className="sr-only">View</legend>
          {(['list', 'board'] as const).map((v) => (
            <button
              key={v}
              type="button"
              className={view === v ? '' : 'secondary'}
              aria-pressed={view === v}
              onClick={() => setView(v)}
            >
              {v}
            </button>
          ))}
        </fieldset>
      </form>
      {view === 'list' ? (
        <VirtualTaskList filters={{ ...filters, status: status || undefined }} agentName={agentName} />
      ) : (
        <div className="board">
          {statuses.map((s) => (
            <BoardColumn key={s} status={s} filters={filters} agentName={agentName} />
          ))}
        </div>
      )}
    </section>
  );
}

/** Every matching task in one scrolling list: pages of 200 are fetched as the list nears them, only visible rows are drawn. */
function VirtualTaskList({ filters, agentName }: { filters: Filters; agentName: (id: string) => string }) {
  const tasks = useApiInfiniteQuery({
    ...taskList(filters),
    // Live while the top of the list is loaded (a refetch re-reads every loaded page, so not 10,000 rows every 3 s).
    refetchInterval: (q) => ((q.state.data?.pages.length ?? 0) <= 2 ? 3000 : false),
  });
  const rows = tasks.data?.pages.flatMap((p) => p.data) ?? [];
  const total = tasks.data?.pages[0]?.total ?? 0;
  const parent = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  useEffect(() => {
    if (lastIndex >= rows.length - 20 && tasks.hasNextPage && !tasks.isFetchingNextPage)
      void tasks.fetchNextPage();
  }, [lastIndex, rows.length, tasks]);

  if (tasks.error) return <ErrorNote error={tasks.error} />;
  if (tasks.isPending) return <p className="muted">Loading…</p>;
  if (rows.length === 0) {
    return (
      <EmptyState title="No tasks here">
        <p>
          Tasks are units of work an agent runs in the background. Create one with{' '}
          <Link to="/tasks/new">New task</Link>, or through <code>POST /v1/tasks</code>.
        </p>
      </EmptyState>
    );
  }
  return (
    <>
      <p className="muted" aria-live="polite">
        {total} task{total === 1 ? '' : 's'}{' '}
        {(tasks.data?.pages.length ?? 0) > 2 ? (
          <button type="button" className="link" onClick={() => tasks.refetch()}>
            Refresh
          </button>
        ) : null}
      </p>
      <div className="vlist-head" aria-hidden="true">
        <span>Title</span>
        <span>Agent</span>
        <span>Type</span>
        <span>Status</span>
        <span>Created</span>
      </div>
      <div ref={parent} className="vlist">
        <ul aria-label="Tasks" style={{ height: virtual.getTotalSize() }}>
          {items.map((item) => {
            const t = rows[item.index]!;
            return (
              <li
                key={t.id}
                className="vrow"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <Link to={`/tasks/${t.id}`}>{t.title}</Link>
                <span>{agentName(t.agent_id)}</span>
                <span>{t.task_type}</span>
                <StatusBadge status={t.status} />
                <span className="muted">{when(t.created_at)}</span>
              </li>
            );
          })}
        </ul>
      </div>
    </>
  );
}

function BoardColumn({
  status,
  filters,
  agentName,
}: {
  status: Status;
  filters: Filters;
  agentName: (id: string) => string;
}) {
  const tasks = useApiQuery({ ...taskColumn({ ...filters, status }), refetchInterval: 3000 });
  return (
    <section className="column" aria-label={status}>
      <h2>
        {status.replace('_', ' ')} <span className="muted">{tasks.data?.total ?? ''}</span>
      </h2>
      <ErrorNote error={tasks.error} />
      <ul>
        {tasks.data?.data.map((t) => (
          <li key={t.id} className="card">
            <Link to={`/tasks/${t.id}`}>{t.title}</Link>
            <div className="muted">
              {agentName(t.agent_id)} · {t.task_type}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
