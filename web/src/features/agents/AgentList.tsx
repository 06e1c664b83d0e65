import { useState } from 'react';
import { Link } from 'react-router';
import { isOpsTeam, OpsTeamNote } from '../../components/AgentOptions';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { useAuth } from '../../lib/auth';
import { when } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { PAGE, useAgentList } from './queries';

type Source = 'basic' | 'template' | 'generated' | 'local';

/** The tenant's agents: a name search, a filter by how they were made, pages of 25. */
export function AgentList() {
  const { can } = useAuth();
  // The search and filter are in the URL (`/agents?name=bill&source=template`).
  const [name, setName] = useUrlState('name', '');
  const [source, setSource] = useUrlState<Source | ''>('source', '', [
    '',
    'basic',
    'template',
    'generated',
    'local',
  ]);
  const [offset, setOffset] = useState(0);
  const list = useAgentList({ name: name.trim() || undefined, source: source || undefined, offset });
  const page = list.data;
  const filtered = Boolean(name.trim() || source);
  return (
    <section>
      <div className="page-head">
        <h1>Agents</h1>
        {can('write') ? (
          <div className="actions">
            <Link className="button" to="new">
              New agent
            </Link>
            <Link className="button secondary" to="new?from=template">
              From a template
            </Link>
            <Link className="button secondary" to="generate">
              Describe it
            </Link>
            <Link className="button secondary" to="local-dev">
              Local-dev agent
            </Link>
          </div>
        ) : null}
      </div>
      <div className="filters">
        <label htmlFor="agent-search">Search by name</label>
        <input
          id="agent-search"
          type="search"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setOffset(0);
          }}
        />
        <label htmlFor="agent-source">Made</label>
        <select
          id="agent-source"
          value={source}
          onChange={(e) => {
            setSource(e.target.value as Source | '');
            setOffset(0);
          }}
        >
          <option value="">any way</option>
          <option value="basic">blank</option>
          <option value="template">from a template</option>
          <option value="generated">generated</option>
          <option value="local">local-dev</option>
        </select>
      </div>
      <ErrorNote error={list.error} />
      {list.isPending ? <p className="muted">Loading agents…</p> : null}
      {page && page.data.length === 0 ? (
        filtered ? (
          <p className="muted">No agent matches these filters.</p>
        ) : (
          <EmptyState title="No agents yet">
            <p>
              An agent is a model with instructions and tools. {can('write') ? 'Start from a template: ' : ''}
              {can('write') ? (
                <Link to="new?from=template">pick one</Link>
              ) : (
                'Ask someone with a write key to add one.'
              )}
              {can('write') ? ', or describe what you need and let the model draft it.' : ''}
            </p>
          </EmptyState>
        )
      ) : null}
      {page && page.data.length > 0 ? (
        <>
          <OpsTeamNote agents={page.data} />
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Agents</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Model</th>
                  <th scope="col">Made</th>
                  <th scope="col">Runs in</th>
                  <th scope="col">Tools</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <Link to={a.id}>{a.name}</Link>
                      {isOpsTeam(a) ? (
                        <>
                          {' '}
                          <span className="badge" title="Made on a fresh install: the operations team">
                            pre-made
                          </span>
                        </>
                      ) : null}
                      {a.description ? <div className="muted small">{a.description}</div> : null}
                    </td>
                    <td>
                      <code>{a.model}</code>
                    </td>
                    <td>{a.source}</td>
                    <td>{a.env}</td>
                    <td>{a.tools.length}</td>
                    <td>{when(a.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager label="Agent pages" offset={offset} page={page} pageSize={PAGE} onOffset={setOffset} />
        </>
      ) : null}
    </section>
  );
}
