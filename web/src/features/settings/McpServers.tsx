import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useAuth } from '../../lib/auth';
import { useFieldErrors } from '../../lib/field-errors';
import { duration } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { mcpServerPage } from './queries';

/** What the page checks before adding a server; the server checks the rest (its 400 lands here too). */
function problemsOf(d: { name: string; url: string }) {
  const p = new Map<string, string>();
  if (!d.name.trim()) p.set('name', 'Name the server.');
  if (!d.url.trim()) p.set('url', 'The server’s URL is required.');
  else if (!URL.canParse(d.url.trim())) p.set('url', 'Not a URL: write it whole, https://…');
  return p;
}

type Probe = { ok: boolean; latency_ms: number; tools: string[]; error?: string };

/** The tenant's MCP servers: add one (Streamable HTTP), test its connection, remove it. */
export function McpServers() {
  const { can } = useAuth();
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const page = useApiQuery({ ...mcpServerPage(offset), placeholderData: keepPreviousData });
  const [probes, setProbes] = useState<Record<string, Probe>>({});
  const [draft, setDraft] = useState({ name: '', url: '', secret: '' });
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
            name: draft.name,
            transport: 'http',
            url: draft.url,
            ...(draft.secret ? { secret: draft.secret } : {}),
          },
        }),
      ),
    onSuccess: (s) => {
      setDraft({ name: '', url: '', secret: '' });
      void refresh();
      test.mutate(s.id);
    },
  });
  const form = useFieldErrors({ error: add.error });
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
          aria-label="New MCP server"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (form.check(problemsOf(draft))) add.mutate();
          }}
        >
          <div className="field">
            <label htmlFor={form.input('name').id}>Server name</label>
            <input
              {...form.bind('name', (name) => setDraft({ ...draft, name }))}
              value={draft.name}
              required
            />
            <FieldError form={form} k="name" />
          </div>
          <div className="field">
            <label htmlFor={form.input('url').id}>URL (Streamable HTTP)</label>
            <input
              {...form.bind('url', (url) => setDraft({ ...draft, url }))}
              type="url"
              value={draft.url}
              required
            />
            <FieldError form={form} k="url" />
          </div>
          <div className="field">
            <label htmlFor={form.input('secret').id}>Bearer secret (optional)</label>
            <input
              {...form.bind('secret', (secret) => setDraft({ ...draft, secret }))}
              type="password"
              value={draft.secret}
              autoComplete="off"
            />
            <FieldError form={form} k="secret" />
          </div>
          <BusyButton type="submit" busy={add.isPending} busyReason="Adding the server…">
            Add MCP server
          </BusyButton>
          <FormProblems form={form} before="before adding it" />
        </form>
      ) : null}
      <ErrorNote error={form.unplaced(add.error)} />
    </section>
  );
}
