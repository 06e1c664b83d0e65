import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { duration } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { mcpServerPage } from './queries';

type Probe = { ok: boolean; latency_ms: number; tools: string[]; error?: string };

/** The tenant's MCP servers: add one (Streamable HTTP), test its connection, remove it. */
export function McpServers() {
  const { can } = useAuth();
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const page = useApiQuery({ ...mcpServerPage(offset), placeholderData: keepPreviousData });
  const [probes, setProbes] = useState<Record<string, Probe>>({});
  const [form, setForm] = useState({ name: '', url: '', secret: '' });
  const refresh = () => client.invalidateQueries({ queryKey: resourceKey('mcp-servers') });
  const test = useMutation({
    mutationFn: async (id: string) => ({
      id,
      probe: unwrap(await api.POST('/v1/mcp-servers/{id}/test', { params: { path: { id } } })),
    }),
    onSuccess: ({ id, probe }) => setProbes((p) => ({ ...p, [id]: probe })),
  });
  const remove = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/v1/mcp-servers/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
  });
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/mcp-servers', {
          body: {
            name: form.name,
            transport: 'http',
            url: form.url,
            ...(form.secret ? { secret: form.secret } : {}),
          },
        }),
      ),
    onSuccess: (s) => {
      setForm({ name: '', url: '', secret: '' });
      void refresh();
      test.mutate(s.id);
    },
  });
  return (
    <section className="panel" aria-labelledby="mcp-h">
      <h2 id="mcp-h">MCP servers</h2>
      <ErrorNote error={page.error ?? test.error ?? remove.error} />
      {page.data && page.data.total === 0 ? (
        <p className="muted">No MCP servers: add one to give agents its tools.</p>
      ) : null}
      <ul>
        {page.data?.data.map((s) => {
          const probe = probes[s.id];
          return (
            <li key={s.id}>
              <strong>{s.name}</strong> <span className="muted">{s.url ?? s.command}</span>{' '}
              {can('write') ? (
                <span className="actions">
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => test.mutate(s.id)}
                    disabled={test.isPending}
                  >
                    Test {s.name}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => window.confirm(`Remove ${s.name}?`) && remove.mutate(s.id)}
                  >
                    Remove {s.name}
                  </button>
                </span>
              ) : null}
              {probe ? (
                <div role="status">
                  {probe.ok ? (
                    <span className="badge badge-ok">connected</span>
                  ) : (
                    <span className="badge badge-error">unreachable</span>
                  )}{' '}
                  in {duration(probe.latency_ms)}:{' '}
                  {probe.ok ? `${probe.tools.length} tools (${probe.tools.join(', ')})` : probe.error}
                </div>
              ) : null}
            </li>
          );
        })}
      </ul>
      <Pager label="MCP server pages" offset={offset} page={page.data} onOffset={setOffset} />
      {can('write') ? (
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate();
          }}
        >
          <label>
            Server name
            <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
          </label>
          <label>
            URL (Streamable HTTP)
            <input
              type="url"
              value={form.url}
              onChange={(e) => setForm({ ...form, url: e.target.value })}
              required
            />
          </label>
          <label>
            Bearer secret (optional)
            <input
              type="password"
              value={form.secret}
              onChange={(e) => setForm({ ...form, secret: e.target.value })}
              autoComplete="off"
            />
          </label>
          <BusyButton type="submit" busy={add.isPending} busyReason="Adding the server…">
            Add MCP server
          </BusyButton>
        </form>
      ) : null}
      <ErrorNote error={add.error} />
    </section>
  );
}
