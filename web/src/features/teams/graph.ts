import type { Agent, Team } from '../../lib/types';

export interface Link {
  from: string;
  to: string;
}

/** A team as the editor holds it: member agent ids, links between them, the entry member. */
export interface Graph {
  members: string[];
  links: Link[];
  entry: string;
}

/**
 * The links of a team: a DAG's edges, or, for a swarm, the handoffs its members name (a swarm
 * passes the conversation along the agents' own `handoffs`).
 */
export function graphOf(team: Team, agents: Agent[]): Graph {
  if (team.kind === 'dag') return { members: team.members, links: team.edges, entry: team.entry_agent_id };
  const byName = new Map(agents.map((a) => [a.name, a.id]));
  const links: Link[] = [];
  for (const id of team.members) {
    const agent = agents.find((a) => a.id === id);
    for (const name of agent?.handoffs ?? []) {
      const to = byName.get(name);
      if (to && team.members.includes(to)) links.push({ from: id, to });
    }
  }
  return { members: team.members, links, entry: team.entry_agent_id };
}

/** For a swarm: each member whose handoffs the links change, with its new handoffs. */
export function handoffChanges(g: Graph, agents: Agent[]): Array<{ id: string; handoffs: string[] }> {
  const nameOf = new Map(agents.map((a) => [a.id, a.name]));
  const memberNames = new Set(g.members.map((m) => nameOf.get(m)));
  const out: Array<{ id: string; handoffs: string[] }> = [];
  for (const id of g.members) {
    const agent = agents.find((a) => a.id === id);
    if (!agent) continue;
    const outside = agent.handoffs.filter((n) => !memberNames.has(n));
    const inside = g.links.filter((l) => l.from === id).map((l) => nameOf.get(l.to)!);
    const next = [...outside, ...inside];
    if (next.join('\n') !== agent.handoffs.join('\n')) out.push({ id, handoffs: next });
  }
  return out;
}

export type NodeState = 'idle' | 'running' | 'completed' | 'failed' | 'skipped' | 'handed off';

/** A node's state after one event of a team run (DAG node events, swarm handoffs, the end). */
export function nextStates(
  states: Record<string, NodeState>,
  e: { type: string; data: Record<string, unknown> },
  idOfName: (name: string) => string | undefined,
): Record<string, NodeState> {
  const d = e.data;
  const id = (v: unknown) => (typeof v === 'string' ? v : undefined);
  switch (e.type) {
    case 'session_start': {
      const entry = id(d.agent_id);
      return entry ? { ...states, [entry]: 'running' } : states;
    }
    case 'node_start':
      return { ...states, [String(d.node_id)]: 'running' };
    case 'node_end':
      return { ...states, [String(d.node_id)]: String(d.status) as NodeState };
    case 'handoff': {
      const from = id(d.from_id);
      const to = id(d.to_id);
      return {
        ...states,
        ...(from && { [from]: 'handed off' as const }),
        ...(to && { [to]: 'running' as const }),
      };
    }
    case 'text': {
      const who = typeof d.agent === 'string' ? idOfName(d.agent) : undefined;
      return who && (states[who] ?? 'idle') === 'idle' ? { ...states, [who]: 'running' } : states;
    }
    case 'session_end': {
      const end: NodeState = d.status === 'completed' ? 'completed' : 'failed';
      return Object.fromEntries(Object.entries(states).map(([k, v]) => [k, v === 'running' ? end : v]));
    }
    default:
      return states;
  }
}
