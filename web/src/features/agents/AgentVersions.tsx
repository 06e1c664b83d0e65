import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { BusyButton } from '../../components/BusyButton';
import { Code, TableWrap } from '../../components/Code';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { pretty, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { useUrlState } from '../../lib/url-state';
import { agentKeys, agentLabels, agentVersionDiff, agentVersions, useAgent } from './queries';
import { VersionLabels } from './VersionLabels';

/** An agent's versions: each change kept whole; two compared field by field; an old one brought back. */
export function AgentVersions() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const agent = useAgent(id);
  const [offset, setOffset] = useState(0);
  const versions = useApiQuery({ ...agentVersions(id, offset), placeholderData: keepPreviousData });
  const latest = agent.data?.version;
  const labels = useApiQuery(agentLabels(id));
  const labelsOf = (v: number) => (labels.data ?? []).filter((l) => l.version === v).map((l) => l.label);
  // The two versions compared are in the URL (`?from=2&to=5`): a diff can be linked and reloaded.
  const [fromText, setFromText] = useUrlState('from', '');
  const [toText, setToText] = useUrlState('to', '');
  const from = /^[1-9]\d*$/.test(fromText) ? Number(fromText) : undefined;
  const to = /^[1-9]\d*$/.test(toText) ? Number(toText) : undefined;
  const setFrom = (n: number) => setFromText(String(n));
  const setTo = (n: number) => setToText(String(n));
  const [rollingBack, setRollingBack] = useState<number>();
  const client = useQueryClient();
  const rollback = useMutation({
    mutationFn: async (n: number) =>
      unwrap(
        await api.POST('/v1/agents/{id}/versions/{n}/rollback', {
          params: { path: { id, n } },
          body: { message: `rolled back to version ${n}` },
        }),
      ),
    onSuccess: (a) => {
      setRollingBack(undefined);
      client.setQueryData(agentKeys.detail(id), a);
      void client.invalidateQueries({ queryKey: agentKeys.all });
    },
  });
  const name = agent.data?.name ?? 'Agent';
  return (
    <section>
      <p>
        <Link to={`/agents/${id}`}>← {name}</Link>
      </p>
      <h1>Versions of {name}</h1>
      <p className="muted">
        Every change to the agent's configuration is kept as a version. Compare two, chat with one or run an
        experiment on it (pinned: later changes do not reach it), or roll back: rolling back makes a new
        version equal to the old one.
      </p>
      <ErrorNote error={agent.error ?? versions.error} />
      {rollback.data ? (
        <p role="status" className="ok-note">
          Rolled back: the agent is now at version {rollback.data.version}.
        </p>
      ) : null}
      {rollingBack !== undefined ? (
        <ConfirmDialog
          action={`Roll back to version ${rollingBack}`}
          busy={rollback.isPending}
          error={rollback.error}
          onConfirm={() => rollback.mutate(rollingBack)}
          onCancel={() => setRollingBack(undefined)}
        >
          Roll <strong>{name}</strong> back to version {rollingBack}? A new version with its configuration is
          made; chats and tasks use it from now on.
        </ConfirmDialog>
      ) : null}
      {versions.data ? (
        <TableWrap label="Versions table">
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>When</th>
                <th>By</th>
                <th>Note</th>
                <th>Compare</th>
                <th>Use</th>
                {can('write') ? <th>Roll back</th> : null}
              </tr>
            </thead>
            <tbody>
              {versions.data.data.map((v) => (
                <tr key={v.version}>
                  <td>
                    {v.version}
                    {v.version === latest ? <span className="badge">latest</span> : null}
                    {labelsOf(v.version).map((l) => (
                      <span key={l}>
                        {' '}
                        <span className="badge">{l}</span>
                      </span>
                    ))}
                  </td>
                  <td>{when(v.created_at)}</td>
                  <td>{v.author}</td>
                  <td>{v.message ?? '—'}</td>
                  <td>
                    <label>
                      <input
                        type="radio"
                        name="from"
                        checked={from === v.version}
                        onChange={() => setFrom(v.version)}
                      />{' '}
                      from <span className="sr-only">version {v.version}</span>
                    </label>{' '}
                    <label>
                      <input
                        type="radio"
                        name="to"
                        checked={to === v.version}
                        onChange={() => setTo(v.version)}
                      />{' '}
                      to <span className="sr-only">version {v.version}</span>
                    </label>
                  </td>
                  <td>
                    <PinnedLinks id={id} version={v.version} />
                  </td>
                  {can('write') ? (
                    <td>
                      {v.version === latest ? (
                        '—'
                      ) : (
                        <button type="button" className="secondary" onClick={() => setRollingBack(v.version)}>
                          Roll back to {v.version}
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Version pages" offset={offset} page={versions.data} onOffset={setOffset} />
      {from !== undefined && to !== undefined && from !== to ? (
        <VersionDiff id={id} from={from} to={to} />
      ) : (
        <p className="muted">Pick a "from" and a "to" version to see what changed.</p>
      )}
      <VersionLabels id={id} latest={latest} />
    </section>
  );
}

/** This version, pinned: a chat with it in the playground, an experiment on it. */
function PinnedLinks({ id, version }: { id: string; version: number }) {
  const pin = `agent=${id}&version=${version}`;
  return (
    <span>
      <Link to={`/playground?${pin}`}>
        Chat <span className="sr-only">with version {version}</span>
      </Link>{' '}
      ·{' '}
      <Link to={`/experiments/new?${pin}`}>
        Experiment <span className="sr-only">on version {version}</span>
      </Link>
    </span>
  );
}

function VersionDiff({ id, from, to }: { id: string; from: number; to: number }) {
  const diff = useApiQuery(agentVersionDiff(id, from, to));
  return (
    <section aria-labelledby="diff-h">
      <h2 id="diff-h">
        Version {from} → {to}
      </h2>
      <ErrorNote error={diff.error} />
      {diff.data && diff.data.changes.length === 0 ? <p>The two versions are the same.</p> : null}
      {diff.data?.changes.map((c) => (
        <div key={c.field} className="panel">
          <h3>
            {c.field}
            {c.lines ? (
              <span className="muted small">
                {' '}
                +{c.lines.added} −{c.lines.removed} lines
              </span>
            ) : null}
          </h3>
          {c.patch ? (
            <Code label={`Diff of ${c.field}`}>{c.patch}</Code>
          ) : (
            <dl className="facts">
              <dt>Was</dt>
              <dd className="prewrap">{pretty(c.from ?? null)}</dd>
              <dt>Now</dt>
              <dd className="prewrap">{pretty(c.to ?? null)}</dd>
            </dl>
          )}
        </div>
      ))}
      <BusyButton
        className="secondary"
        busy={diff.isFetching}
        busyReason="Loading the diff…"
        onClick={() => diff.refetch()}
      >
        Refresh the diff
      </BusyButton>
    </section>
  );
}
