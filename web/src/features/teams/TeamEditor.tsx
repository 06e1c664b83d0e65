import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import type { Agent, Team } from '../../lib/types';
import { type Graph, graphOf, handoffChanges, type NodeState, nextStates } from './graph';
import { teamKeys } from './queries';
import { RunPanel } from './RunPanel';
import { TeamGraph } from './TeamGraph';

/** One team: its graph to edit (members, links, entry), saved in one go; a run watched live. */
export function TeamEditor({
  team,
  agents,
  onDeleted,
}: {
  team: Team;
  agents: Agent[];
  onDeleted: () => void;
}) {
  const { can } = useAuth();
  const editable = can('write');
  const qc = useQueryClient();
  const [graph, setGraph] = useState<Graph>(() => graphOf(team, agents));
  const [dirty, setDirty] = useState(false);
  const [states, setStates] = useState<Record<string, NodeState>>({});
  const [confirming, setConfirming] = useState(false);
  const [add, setAdd] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const names = new Map(agents.map((a) => [a.id, a.name]));
  const ids = new Map(agents.map((a) => [a.name, a.id]));
  const change = (g: Graph) => {
    setGraph(g);
    setDirty(true);
  };
  const save = useMutation({
    mutationFn: async () => {
      if (team.kind === 'swarm') {
        for (const c of handoffChanges(graph, agents)) {
          unwrap(
            await api.PATCH('/v1/agents/{id}', {
              params: { path: { id: c.id } },
              body: { handoffs: c.handoffs },
            }),
          );
        }
      }
      return unwrap(
        await api.PATCH('/v1/multi-agents/{id}', {
          params: { path: { id: team.id } },
          body: {
            members: graph.members,
            entry_agent_id: graph.entry,
            ...(team.kind === 'dag' && { edges: graph.links }),
          },
        }),
      );
    },
    onSuccess: () => {
      setDirty(false);
      void qc.invalidateQueries({ queryKey: teamKeys.all });
      void qc.invalidateQueries({ queryKey: ['agents'] });
    },
  });
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE('/v1/multi-agents/{id}', { params: { path: { id: team.id } } })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: teamKeys.all });
      onDeleted();
    },
  });
  const others = agents.filter((a) => !graph.members.includes(a.id));
  const linkWord = team.kind === 'dag' ? 'edge' : 'handoff';

  return (
    <div className="team-editor">
      <div className="page-head">
        <h2>
          {team.name}{' '}
          <span className="muted small">
            (
            {team.kind === 'dag'
              ? 'DAG: outputs flow along edges'
              : 'swarm: agents hand off the conversation'}
            )
          </span>
        </h2>
        {editable ? (
          <div className="actions">
            <button
              type="button"
              disabled={!dirty || save.isPending || graph.members.length === 0}
              onClick={() => save.mutate()}
            >
              {save.isPending ? 'Saving…' : dirty ? 'Save the graph' : 'Saved'}
            </button>
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Delete team
            </button>
          </div>
        ) : null}
      </div>
      {confirming ? (
        <ConfirmDialog
          action={`Delete ${team.name}`}
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate()}
          onCancel={() => setConfirming(false)}
        >
          Delete the team <strong>{team.name}</strong>? Its agents stay.
        </ConfirmDialog>
      ) : null}
      <ErrorNote error={save.error} />
      <TeamGraph graph={graph} names={names} states={states} editable={editable} onChange={change} />
      <div className="team-lists">
        <section aria-labelledby="members-title">
          <h3 id="members-title">Members</h3>
          <ul>
            {graph.members.map((m) => (
              <li key={m}>
                {names.get(m) ?? m} {m === graph.entry ? <strong>(entry)</strong> : null}{' '}
                <span className="muted">{states[m] ?? ''}</span>
                {editable ? (
                  <span className="actions inline">
                    {m !== graph.entry ? (
                      <button type="button" className="link" onClick={() => change({ ...graph, entry: m })}>
                        Make {names.get(m)} the entry
                      </button>
                    ) : null}
                    <button
                      type="button"
                      className="link"
                      onClick={() => {
                        const members = graph.members.filter((x) => x !== m);
                        change({
                          members,
                          links: graph.links.filter((l) => l.from !== m && l.to !== m),
                          entry: graph.entry === m ? (members[0] ?? '') : graph.entry,
                        });
                      }}
                    >
                      Remove {names.get(m)}
                    </button>
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
          {editable && others.length ? (
            <div className="filters">
              <label htmlFor="add-member">Add a member</label>
              <select id="add-member" value={add} onChange={(e) => setAdd(e.target.value)}>
                <option value="">Choose an agent…</option>
                {others.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
              <button
                type="button"
                className="secondary"
                disabled={!add}
                onClick={() => {
                  change({ ...graph, members: [...graph.members, add], entry: graph.entry || add });
                  setAdd('');
                }}
              >
                Add
              </button>
            </div>
          ) : null}
        </section>
        <section aria-labelledby="links-title">
          <h3 id="links-title">{team.kind === 'dag' ? 'Edges' : 'Handoffs'}</h3>
          {graph.links.length === 0 ? (
            <p className="muted">
              No {linkWord}s yet
              {editable ? ': drag from a node’s right dot to another node, or add one below.' : '.'}
            </p>
          ) : null}
          <ul>
            {graph.links.map((l) => (
              <li key={`${l.from}>${l.to}`}>
                {names.get(l.from)} → {names.get(l.to)}{' '}
                {editable ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => change({ ...graph, links: graph.links.filter((x) => x !== l) })}
                  >
                    Remove {linkWord} {names.get(l.from)} to {names.get(l.to)}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
          {editable && graph.members.length > 1 ? (
            <div className="filters">
              <label htmlFor="link-from">From</label>
              <select id="link-from" value={from} onChange={(e) => setFrom(e.target.value)}>
                <option value="">…</option>
                {graph.members.map((m) => (
                  <option key={m} value={m}>
                    {names.get(m)}
                  </option>
                ))}
              </select>
              <label htmlFor="link-to">to</label>
              <select id="link-to" value={to} onChange={(e) => setTo(e.target.value)}>
                <option value="">…</option>
                {graph.members.map((m) => (
                  <option key={m} value={m}>
                    {names.get(m)}
                  </option>
                ))}
              </select>
              <button
                type="button"
                className="secondary"
                disabled={
                  !from || !to || from === to || graph.links.some((l) => l.from === from && l.to === to)
                }
                onClick={() => change({ ...graph, links: [...graph.links, { from, to }] })}
              >
                Add {linkWord}
              </button>
            </div>
          ) : null}
        </section>
      </div>
      {editable ? (
        dirty ? (
          <p className="muted">Save the graph before running it.</p>
        ) : (
          <RunPanel
            team={team}
            onStart={() => setStates({})}
            onEvent={(e) => setStates((s) => nextStates(s, e, (n) => ids.get(n)))}
          />
        )
      ) : null}
    </div>
  );
}
