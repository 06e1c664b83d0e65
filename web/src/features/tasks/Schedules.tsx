import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { when } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { allAgents } from '../../lib/resources';
import { schedulePage } from './queries';

/** Schedules that create tasks: list, create (cron or interval), pause or resume, delete. */
export function Schedules() {
  const { can } = useAuth();
  const client = useQueryClient();
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const [offset, setOffset] = useState(0);
  const list = useApiQuery({ ...schedulePage(offset), placeholderData: keepPreviousData });
  const refresh = () => client.invalidateQueries({ queryKey: resourceKey('schedules') });
  const act = useMutation({
    mutationFn: async ({ id, action }: { id: string; action: 'pause' | 'resume' | 'delete' }) => {
      const params = { params: { path: { id } } };
      if (action === 'delete') return unwrap(await api.DELETE('/v1/schedules/{id}', params));
      return unwrap(
        await (action === 'pause'
          ? api.POST('/v1/schedules/{id}/pause', params)
          : api.POST('/v1/schedules/{id}/resume', params)),
      );
    },
    onSuccess: refresh,
  });
  const agentName = (id: string) => agents.data?.find((a) => a.id === id)?.name ?? id.slice(-8);

  return (
    <section>
      <p>
        <Link to="/tasks">← Tasks</Link>
      </p>
      <h1>Schedules</h1>
      <ErrorNote error={list.error ?? act.error} />
      {list.data && list.data.data.length === 0 ? (
        <EmptyState title="No schedules">
          <p>A schedule creates a task on a cron expression or every few seconds.</p>
        </EmptyState>
      ) : null}
      {list.data && list.data.data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Agent · type</th>
              <th>When</th>
              <th>Next run</th>
              <th>State</th>
              {can('write') ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td>
                  {agentName(s.agent_id)} · {s.task_type}
                </td>
                <td>{s.cron ? `${s.cron} (${s.timezone})` : `every ${s.interval_seconds} s`}</td>
                <td>{when(s.next_run_at)}</td>
                <td>{s.paused ? 'paused' : 'active'}</td>
                {can('write') ? (
                  <td className="actions">
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => act.mutate({ id: s.id, action: s.paused ? 'resume' : 'pause' })}
                    >
                      {s.paused ? 'Resume' : 'Pause'} {s.name}
                    </button>
                    <button
                      type="button"
                      className="danger"
                      onClick={() =>
                        window.confirm(`Delete schedule ${s.name}?`) &&
                        act.mutate({ id: s.id, action: 'delete' })
                      }
                    >
                      Delete {s.name}
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Pager label="Schedule pages" offset={offset} page={list.data} onOffset={setOffset} />
      {can('write') ? <NewSchedule onCreated={refresh} /> : null}
    </section>
  );
}

function NewSchedule({ onCreated }: { onCreated: () => void }) {
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const [form, setForm] = useState({
    name: '',
    agent_id: '',
    task_type: 'default',
    title: '',
    timing: 'interval',
    cron: '0 * * * *',
    every: '3600',
  });
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setForm({ ...form, [k]: e.target.value });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/schedules', {
          body: {
            name: form.name,
            agent_id: form.agent_id,
            task_type: form.task_type,
            title: form.title,
            ...(form.timing === 'cron'
              ? { cron: form.cron, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone }
              : { interval_seconds: Number(form.every) }),
          },
        }),
      ),
    onSuccess: onCreated,
  });
  return (
    <form
      className="stack panel"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h2>New schedule</h2>
      <label>
        Name
        <input value={form.name} onChange={set('name')} required />
      </label>
      <label>
        Agent
        <select value={form.agent_id} onChange={set('agent_id')} required>
          <option value="">choose an agent</option>
          {agents.data?.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Task type
        <input value={form.task_type} onChange={set('task_type')} required />
      </label>
      <label>
        Task title
        <input value={form.title} onChange={set('title')} required />
      </label>
      <label>
        Timing
        <select value={form.timing} onChange={set('timing')}>
          <option value="interval">every N seconds</option>
          <option value="cron">cron expression</option>
        </select>
      </label>
      {form.timing === 'cron' ? (
        <label>
          Cron
          <input value={form.cron} onChange={set('cron')} />
        </label>
      ) : (
        <label>
          Every (seconds)
          <input type="number" min={1} value={form.every} onChange={set('every')} />
        </label>
      )}
      <div>
        <BusyButton type="submit" busy={create.isPending} busyReason="Creating the schedule…">
          Create schedule
        </BusyButton>
      </div>
      <ErrorNote error={create.error} />
    </form>
  );
}
