import { keepPreviousData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BusyButton } from '../../components/BusyButton';
import { TableWrap } from '../../components/Code';
import { CopyButton } from '../../components/CopyButton';
import { ErrorNote } from '../../components/ErrorNote';
import { FieldError, FormProblems } from '../../components/FieldError';
import { Pager } from '../../components/Pager';
import { api, unwrap } from '../../lib/api';
import { useFieldErrors } from '../../lib/field-errors';
import { when } from '../../lib/format';
import { resourceKey, useApiQuery } from '../../lib/query';
import { keyPage, tenantPage } from './queries';

type Scope = 'read' | 'write' | 'admin';

/** A secret the server shows once: displayed until dismissed, with a plain warning. */
function OnceSecret({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <div className="panel" role="status">
      <p>
        <strong>Copy this secret now: it is not shown again.</strong>
      </p>
      <code className="secret">{secret}</code>
      <div className="actions">
        <CopyButton text={secret} label="Copy the secret" />
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function ApiKeys() {
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const keys = useApiQuery({ ...keyPage(offset), placeholderData: keepPreviousData });
  const [name, setName] = useState('');
  const [scope, setScope] = useState<Scope>('read');
  const [secret, setSecret] = useState<string>();
  const refresh = () => client.invalidateQueries({ queryKey: resourceKey('keys') });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST('/v1/keys', { body: { name: name.trim(), scopes: [scope] } })),
    onSuccess: (k) => {
      setSecret(k.secret);
      setName('');
      void refresh();
    },
  });
  const form = useFieldErrors({ error: create.error });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST('/v1/keys/{id}/revoke', { params: { path: { id } } })),
    onSuccess: refresh,
  });
  return (
    <section className="panel" aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <ErrorNote error={keys.error ?? revoke.error} />
      <TableWrap label="API keys table">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Prefix</th>
              <th>Scopes</th>
              <th>Created</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.data.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.scopes.join(', ')}</td>
                <td>{when(k.created_at)}</td>
                <td>
                  {k.revoked_at ? (
                    `revoked ${when(k.revoked_at)}`
                  ) : (
                    <button
                      type="button"
                      className="danger"
                      onClick={() =>
                        window.confirm(`Revoke key ${k.name}? Clients using it stop working.`) &&
                        revoke.mutate(k.id)
                      }
                    >
                      Revoke {k.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Pager label="API key pages" offset={offset} page={keys.data} onOffset={setOffset} />
      {secret ? <OnceSecret secret={secret} onDone={() => setSecret(undefined)} /> : null}
      <form
        className="filters"
        aria-label="New API key"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const problems = new Map(
            name.trim() ? [] : ([['name', 'Name the key: say who or what will use it.']] as const),
          );
          if (form.check(problems)) create.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('name').id}>Key name</label>
          <input {...form.bind('name', setName)} value={name} required />
          <FieldError form={form} k="name" />
        </div>
        <div className="field">
          <label htmlFor={form.input('scopes').id}>Scope</label>
          <select {...form.bind('scopes', (v) => setScope(v as Scope))} value={scope}>
            <option value="read">read</option>
            <option value="write">write</option>
            <option value="admin">admin</option>
          </select>
          <FieldError form={form} k="scopes" />
        </div>
        <BusyButton type="submit" busy={create.isPending} busyReason="Creating the key…">
          Create key
        </BusyButton>
      </form>
      <FormProblems form={form} before="before creating it" />
      <ErrorNote error={form.unplaced(create.error)} />
    </section>
  );
}

export function Tenants() {
  const client = useQueryClient();
  const [offset, setOffset] = useState(0);
  const tenants = useApiQuery({ ...tenantPage(offset), placeholderData: keepPreviousData });
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string>();
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST('/v1/tenants', { body: { name } })),
    onSuccess: (t) => {
      setSecret(t.admin_key.secret);
      setName('');
      void client.invalidateQueries({ queryKey: resourceKey('tenants') });
    },
  });
  const form = useFieldErrors({ error: create.error });
  return (
    <section className="panel" aria-labelledby="tenants-h">
      <h2 id="tenants-h">Tenants</h2>
      <ErrorNote error={tenants.error} />
      <ul>
        {tenants.data?.data.map((t) => (
          <li key={t.id}>
            {t.name} <span className="muted">since {when(t.created_at)}</span>
          </li>
        ))}
      </ul>
      <Pager label="Tenant pages" offset={offset} page={tenants.data} onOffset={setOffset} />
      {secret ? <OnceSecret secret={secret} onDone={() => setSecret(undefined)} /> : null}
      <form
        className="filters"
        aria-label="New tenant"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const problems = new Map(name.trim() ? [] : ([['name', 'Name the tenant.']] as const));
          if (form.check(problems)) create.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={form.input('name').id}>Tenant name</label>
          <input {...form.bind('name', setName)} value={name} required />
          <FieldError form={form} k="name" />
        </div>
        <BusyButton type="submit" busy={create.isPending} busyReason="Creating the tenant…">
          Create tenant
        </BusyButton>
      </form>
      <FormProblems form={form} before="before creating it" />
      <ErrorNote error={form.unplaced(create.error)} />
    </section>
  );
}
