import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { isOpsTeam } from '../../components/AgentOptions';
import { BusyButton } from '../../components/BusyButton';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { teamKeys, useAgents, useTeam, useTeams } from './queries';
import { TeamEditor } from './TeamEditor';
import '../../components/ui.css';
import './teams.css';

/** Swarm and DAG teams: the list, a new team, and the chosen one's graph (`?team=`). */
export default function Teams() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const [offset, setOffset] = useState(0);
  const teams = useTeams(offset);
  const agents = useAgents();
  const onPage = teams.data?.data.find((t) => t.id === params.get('team'));
  const byId = useTeam(params.get('team'), Boolean(onPage) || !teams.data);
  const chosen = onPage ?? byId.data;
  const [creating, setCreating] = useState(false);
  // A swarm's links are its members' handoffs: the editor starts again when they change.
  const handoffs =
    chosen?.kind === 'swarm'
      ? (agents.data ?? [])
          .filter((a) => chosen.members.includes(a.id))
          .map((a) => a.handoffs.join(','))
          .join(';')
      : '';
  return (
    <section>
      <div className="page-head">
        <h1>Teams</h1>
        {can('write') && !creating ? (
          <button type="button" onClick={() => setCreating(true)}>
            New team
          </button>
        ) : null}
      </div>
      <ErrorNote error={teams.error ?? byId.error ?? agents.error} />
      {creating && agents.data ? (
        <NewTeam
          agents={agents.data}
          onDone={(id) => {
            setCreating(false);
            if (id) setParams({ team: id });
          }}
        />
      ) : null}
      {teams.data?.data.length === 0 && !creating ? (
        <EmptyState title="No teams yet">
          <p>
            A team lets several agents work on one request: a <strong>swarm</strong> passes the conversation
            from agent to agent, a <strong>DAG</strong> feeds each agent’s output to the next.{' '}
            {can('write') ? 'Make agents first on the Agents page, then press New team.' : ''}
          </p>
          <p>
            <Link to="/agents">Go to the agents</Link>
          </p>
        </EmptyState>
      ) : null}
      {teams.data?.data.length ? (
        <nav aria-label="Teams" className="team-tabs">
          {teams.data.data.map((t) => (
            <button
              key={t.id}
              type="button"
              className={t.id === chosen?.id ? '' : 'secondary'}
              aria-current={t.id === chosen?.id ? 'true' : undefined}
              onClick={() => setParams({ team: t.id })}
            >
              {t.name} <span className="small">({t.kind})</span>
            </button>
          ))}
        </nav>
      ) : null}
      <Pager label="Team pages" offset={offset} page={teams.data} onOffset={setOffset} />
      {chosen && agents.data ? (
        <TeamEditor
          key={`${chosen.id}:${chosen.version}:${handoffs}`}
          team={chosen}
          agents={agents.data}
          onDeleted={() => setParams({})}
        />
      ) : teams.data?.data.length ? (
        <p className="muted">Choose a team to see its graph.</p>
      ) : null}
    </section>
  );
}

function NewTeam({
  agents,
  onDone,
}: {
  agents: { id: string; name: string; template_id: string | null }[];
  onDone: (id?: string) => void;
}) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'swarm' | 'dag'>('dag');
  const [members, setMembers] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/multi-agents', { body: { name, kind, members, entry_agent_id: members[0] } }),
      ),
    onSuccess: (t) => {
      void qc.invalidateQueries({ queryKey: teamKeys.all });
      onDone(t.id);
    },
  });
  // The API's `entry_agent_id` is the first member: its problems are the members'.
  const form = useFieldErrors<string>({
    error: create.error,
    fieldOf: (path) => (path.startsWith('entry_agent_id') ? 'members' : undefined),
  });
  const problems = new Map<string, string>();
  if (!name.trim()) problems.set('name', 'Name the team.');
  if (members.length === 0) problems.set('members', 'Pick at least one member; the first is the entry.');
  return (
    <form
      className="panel"
      aria-label="New team"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form.check(problems)) create.mutate();
      }}
    >
      <h2>New team</h2>
      <label htmlFor={form.input('name').id}>Name</label>
      <input {...form.bind('name', setName)} value={name} />
      <FieldError form={form} k="name" />
      <label htmlFor={form.input('kind').id}>Kind</label>
      <select {...form.bind('kind', (v) => setKind(v as 'swarm' | 'dag'))} value={kind}>
        <option value="dag">DAG: each agent’s output flows to the next</option>
        <option value="swarm">swarm: agents hand the conversation to each other</option>
      </select>
      <FieldError form={form} k="kind" />
      <fieldset {...form.input('members')} tabIndex={-1}>
        <legend>Members (the first is the entry)</legend>
        {agents.length === 0 ? <p className="muted">No agents yet: create some on the Agents page.</p> : null}
        {agents.map((a) => (
          <label key={a.id} className="check">
            <input
              type="checkbox"
              checked={members.includes(a.id)}
              onChange={(e) => {
                setMembers(e.target.checked ? [...members, a.id] : members.filter((m) => m !== a.id));
                form.changed('members');
              }}
            />{' '}
            {a.name}
            {isOpsTeam(a) ? <span className="muted small"> (pre-made operations team)</span> : null}
          </label>
        ))}
      </fieldset>
      <FieldError form={form} k="members" />
      <FormProblems form={form} before="before creating it" />
      <ErrorNote error={form.unplaced(create.error)} />
      <div className="actions">
        <BusyButton type="submit" busy={create.isPending} busyReason="Creating the team…">
          Create team
        </BusyButton>
        <button type="button" className="secondary" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}
