import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { AgentOptions, OpsTeamNote } from '../../components/AgentOptions';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { Chat } from './Chat';
import { SESSION_PAGE, useAgents, useSessions } from './queries';
import '../../components/ui.css';
import './playground.css';
import { count, when } from '../../lib/format';

/**
 * Pick an agent (and a version of it, or the latest), talk to it, reopen earlier sessions from the
 * sidebar. `?agent=&version=&session=` in the URL.
 */
export default function Playground() {
  const [params, setParams] = useSearchParams();
  const agents = useAgents();
  const agentId = params.get('agent') ?? '';
  const sessionId = params.get('session') ?? undefined;
  const agent = agents.data?.find((a) => a.id === agentId);
  // `?version=N` pins the chat to that version of the agent; none (or one it does not have) is the latest.
  const asked = Number(params.get('version'));
  const version =
    agent && Number.isInteger(asked) && asked >= 1 && asked <= agent.version ? asked : undefined;
  const pin: Record<string, string> = version ? { version: String(version) } : {};
  const [sessionOffset, setSessionOffset] = useState(0);
  const sessions = useSessions(agentId, sessionOffset);
  // Picking a session or a new chat starts a fresh conversation view; a session the chat itself
  // created only updates the address.
  const [view, setView] = useState(0);
  const open = (session?: string) => {
    setParams({ agent: agentId, ...pin, ...(session && { session }) });
    setView((v) => v + 1);
  };

  if (agents.data?.length === 0) {
    return (
      <section>
        <h1>Playground</h1>
        <EmptyState title="No agent to talk to yet">
          <p>
            Create one on the <Link to="/agents/new?from=template">Agents page</Link> (a template is the
            quickest start), then come back here.
          </p>
        </EmptyState>
      </section>
    );
  }
  return (
    <section className="playground">
      <div className="page-head">
        <h1>Playground</h1>
        <div className="filters">
          <label htmlFor="pg-agent">Agent</label>
          <select
            id="pg-agent"
            value={agentId}
            onChange={(e) => {
              setParams(e.target.value ? { agent: e.target.value } : {});
              setSessionOffset(0);
              setView((v) => v + 1);
            }}
          >
            <option value="">Choose an agent…</option>
            <AgentOptions agents={agents.data ?? []} />
          </select>
          {agent ? (
            <>
              <label htmlFor="pg-version">Version</label>
              <select
                id="pg-version"
                value={version ?? ''}
                onChange={(e) => {
                  setParams({ agent: agent.id, ...(e.target.value && { version: e.target.value }) });
                  setView((v) => v + 1);
                }}
              >
                <option value="">latest (v{agent.version})</option>
                {Array.from({ length: agent.version }, (_, i) => agent.version - i).map((n) => (
                  <option key={n} value={n}>
                    version {n}
                  </option>
                ))}
              </select>
            </>
          ) : null}
        </div>
      </div>
      <OpsTeamNote agents={agents.data ?? []} />
      <ErrorNote error={agents.error} />
      {agent ? (
        <div className="play-grid">
          <aside className="sessions" aria-label="Sessions">
            <button type="button" className="secondary" onClick={() => open()}>
              New chat
            </button>
            <ErrorNote error={sessions.error} />
            {sessions.data?.total === 0 ? <p className="muted small">No earlier sessions.</p> : null}
            <ul>
              {sessions.data?.data.map((s) => (
                <li key={s.id}>
                  <button
                    type="button"
                    className="link session"
                    aria-current={s.id === sessionId ? 'true' : undefined}
                    onClick={() => open(s.id)}
                  >
                    {s.title || 'Untitled'}
                  </button>
                  <span className="muted small">
                    {count(s.exchange_count, 'exchange')} · {when(s.updated_at)}
                  </span>
                </li>
              ))}
            </ul>
            <Pager
              label="Session pages"
              offset={sessionOffset}
              page={sessions.data}
              pageSize={SESSION_PAGE}
              onOffset={setSessionOffset}
            />
          </aside>
          <Chat
            key={`${agent.id}:${version ?? 'latest'}:${view}`}
            agent={agent}
            version={version}
            sessionId={sessionId}
            onSession={(id) => setParams({ agent: agent.id, ...pin, session: id }, { replace: true })}
          />
        </div>
      ) : agents.data && !agentId ? (
        <p className="muted">Choose an agent above to start a conversation.</p>
      ) : agents.data ? (
        <p className="error">That agent does not exist (any more).</p>
      ) : (
        <p className="muted">Loading agents…</p>
      )}
    </section>
  );
}
