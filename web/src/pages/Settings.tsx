import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api';
import { useAuth } from '../auth';
import { ErrorNote } from '../components/ErrorNote';
import { pretty } from '../ops/format';
import { ApiKeys, Tenants } from '../ops/KeysTenants';
import { McpServers } from '../ops/McpServers';
import '../ops/ops.css';
import { Code } from '../ops/Code';

/** API keys, MCP servers, model providers and their breakers, tenants and policy. */
export default function Settings() {
  const { me, can } = useAuth();
  const root = me.tenant_name === 'default' && can('admin');
  return (
    <section>
      <h1>Settings</h1>
      {can('admin') ? <ApiKeys /> : <p className="muted">API keys are managed by the tenant's admins.</p>}
      <McpServers />
      <Providers />
      {root ? <Tenants /> : null}
      {can('admin') ? <Policy /> : null}
    </section>
  );
}

function Providers() {
  const health = useQuery({
    queryKey: ['health'],
    refetchInterval: 10_000,
    queryFn: async () => unwrap(await api.GET('/health')),
  });
  const models = useQuery({
    queryKey: ['models'],
    queryFn: async () => unwrap(await api.GET('/v1/models')).data,
  });
  const providers = health.data?.components.model_providers;
  const breakers = (providers?.detail?.breakers ?? {}) as Record<string, string>;
  const byProvider = new Map<string, string[]>();
  for (const m of models.data ?? [])
    byProvider.set(m.owned_by, [...(byProvider.get(m.owned_by) ?? []), m.id]);
  return (
    <section className="panel" aria-labelledby="providers-h">
      <h2 id="providers-h">Model providers</h2>
      <ErrorNote error={health.error ?? models.error} />
      {providers ? (
        <p>
          Gateway:{' '}
          <span className={`badge badge-${providers.status === 'ok' ? 'ok' : 'error'}`}>
            {providers.status}
          </span>
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>Provider</th>
            <th>Models this tenant may use</th>
          </tr>
        </thead>
        <tbody>
          {[...byProvider.entries()].map(([p, ids]) => (
            <tr key={p}>
              <td>{p}</td>
              <td>{ids.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Circuit breakers</h3>
      {Object.keys(breakers).length === 0 ? (
        <p className="muted">No endpoint called yet: a breaker appears with the first call to a provider.</p>
      ) : (
        <ul>
          {Object.entries(breakers).map(([name, state]) => (
            <li key={name}>
              {name}: <span className={`badge badge-${state === 'closed' ? 'ok' : 'error'}`}>{state}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Policy() {
  const policy = useQuery({ queryKey: ['policy'], queryFn: async () => unwrap(await api.GET('/v1/policy')) });
  return (
    <section className="panel" aria-labelledby="policy-h">
      <h2 id="policy-h">Policy</h2>
      <ErrorNote error={policy.error} />
      {policy.data ? (
        <>
          <p className="muted">
            Tenant {policy.data.tenant.name}: from{' '}
            {policy.data.source === 'builtin'
              ? 'the built-in defaults'
              : `tenants.yaml (${policy.data.source})`}
            . Edit tenants.yaml and send SIGHUP to change it.
          </p>
          <Code label="Policy">{pretty(policy.data.policy)}</Code>
        </>
      ) : null}
    </section>
  );
}
