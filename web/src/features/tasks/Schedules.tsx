import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { AgentOptions } from '../../components/AgentOptions';
import { BusyButton } from '../../components/BusyButton';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
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

type ScheduleDraft = {
  name: string;
  agent_id: string;
  task_type: string;
  title: string;
  timing: 'interval' | 'cron';
  cron: string;
  interval_seconds: string;
};

/** What the page checks before creating a schedule; a bad cron is the server's to say, on its field. */
function problemsOf(d: ScheduleDraft) {
  const p = new Map<keyof ScheduleDraft, string>();
  if (!d.name.trim()) p.set('name', 'Name the schedule.');
  if (!d.agent_id) p.set('agent_id', 'Choose the agent its tasks go to.');
  if (!d.task_type.trim())
    p.set('task_type', 'A task type is required (default, or one the agent declares).');
  if (!d.title.trim()) p.set('title', 'Give its tasks a title.');
  if (d.timing === 'cron' && !d.cron.trim()) p.set('cron', 'A cron expression is required.');
  const every = Number(d.interval_seconds);
  if (d.timing === 'interval' && !(Number.isSafeInteger(every) && every >= 1))
    p.set('interval_seconds', 'A whole number of seconds, 1 or more.');
  return p;
}

function NewSchedule({ onCreated }: { onCreated: () => void }) {
  const agents = useApiQuery({ ...allAgents(), staleTime: 30_000 });
  const [draft, setDraft] = useState<ScheduleDraft>({
    name: '',
    agent_id: '',
    task_type: 'default',
    title: '',
    timing: 'interval',
    cron: '0 * * * *',
    interval_seconds: '3600',
  });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/schedules', {
          body: {
            name: draft.name,
            agent_id: draft.agent_id,
            task_type: draft.task_type,
            title: draft.title,
            ...(draft.timing === 'cron'
              ? { cron: draft.cron, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone }
              : { interval_seconds: Number(draft.interval_seconds) }),
          },
        }),
      ),
    onSuccess: onCreated,
  });
  const form = useFieldErrors<keyof ScheduleDraft>({ error: create.error });
  const bind = (k: keyof ScheduleDraft) => form.bind(k, (v) => setDraft((d) => ({ ...d, [k]: v })));
  const field = (k: keyof ScheduleDraft, label: string, input: React.ReactNode) => (
    <div className="field">
      <label htmlFor={form.input(k).id}>{label}</label>
      {input}
      <FieldError form={form} k={k} />
    </div>
  );
  return (
    <form
      className="stack panel"
      aria-label="New schedule"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(problemsOf(draft))) create.mutate();
      }}
    >
      <h2>New schedule</h2>
      {field('name', 'Name', <input {...bind('name')} value={draft.name} required />)}
      {field(
        'agent_id',
        'Agent',
        <select {...bind('agent_id')} value={draft.agent_id} required>
          <option value="">choose an agent</option>
          <AgentOptions agents={agents.data ?? []} />
        </select>,
      )}
      {field('task_type', 'Task type', <input {...bind('task_type')} value={draft.task_type} required />)}
      {field('title', 'Task title', <input {...bind('title')} value={draft.title} required />)}
      {field(
        'timing',
        'Timing',
        <select {...bind('timing')} value={draft.timing}>
          <option value="interval">every N seconds</option>
          <option value="cron">cron expression</option>
        </select>,
      )}
      {draft.timing === 'cron'
        ? field('cron', 'Cron', <input {...bind('cron')} value={draft.cron} />)
        : field(
            'interval_seconds',
            'Every (seconds)',
            <input {...bind('interval_seconds')} type="number" min={1} value={draft.interval_seconds} />,
          )}
      <div>
        <BusyButton type="submit" busy={create.isPending} busyReason="Creating the schedule…">
          Create schedule
        </BusyButton>
      </div>
      <FormProblems form={form} before="before creating it" />
      <ErrorNote error={form.unplaced(create.error)} />
    </form>
  );
}
