import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { when } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { consoleSessionPage } from './queries';

/** The sessions sign-in links made: when each was made and ends, from which browser; revoke one. */
export function ConsoleSessions() {
  const { me } = useAuth();
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const sessions = useApiQuery({ ...consoleSessionPage(offset), placeholderData: keepPreviousData });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST('/v1/console-sessions/{id}/revoke', { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: resourceKey('console-sessions') }),
  });
  const now = Date.now();
  return (
    <section className="panel" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Console sessions</h2>
      <p className="muted">
        A sign-in link opens a session like these: it lasts until it expires, its browser signs out, or it is
        revoked here.
      </p>
      <ErrorNote error={sessions.error ?? revoke.error} />
      {sessions.data?.total === 0 ? <p className="muted">No sign-in link has been used yet.</p> : null}
      {sessions.data && sessions.data.total > 0 ? (
        <TableWrap label="Console sessions table">
          <table>
            <thead>
              <tr>
                <th>Session</th>
                <th>Browser</th>
                <th>Signed in</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.data.map((s) => {
                const mine = s.id === me.session_id;
                const live = !s.revoked_at && Date.parse(s.expires_at) > now;
                return (
                  <tr key={s.id}>
                    <td>
                      <code>{s.prefix}</code>
                      {mine ? <strong> (this browser)</strong> : null}
                    </td>
                    <td className="small">{s.user_agent || '—'}</td>
                    <td>{when(s.created_at)}</td>
                    <td>
                      {s.revoked_at ? (
                        `ended ${when(s.revoked_at)}`
                      ) : !live ? (
                        `expired ${when(s.expires_at)}`
                      ) : (
                        <>
                          until {when(s.expires_at)}{' '}
                          <button
                            type="button"
                            className="danger"
                            disabled={revoke.isPending}
                            onClick={() =>
                              window.confirm(
                                mine
                                  ? 'Revoke the session of this browser? You are signed out.'
                                  : `Revoke session ${s.prefix}? Its browser is signed out.`,
                              ) && revoke.mutate(s.id)
                            }
                          >
                            Revoke {s.prefix}
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      <Pager label="Console session pages" offset={offset} page={sessions.data} onOffset={setOffset} />
    </section>
  );
}
