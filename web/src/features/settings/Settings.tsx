import { Code } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { useAuth } from '../../lib/auth';
import { pretty } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { currentPolicy, healthReport, modelList } from '../../lib/resources';
import { ConsoleSessions } from './ConsoleSessions';
import { ApiKeys, Tenants } from './KeysTenants';
import { McpServers } from './McpServers';
import '../../components/ui.css';

/** API keys, MCP servers, model providers and their breakers, tenants and policy. */
export default function Settings() {
  const { me, can } = useAuth();
  const root = me.tenant_name === 'default' && can('admin');
  return (
    <section>
      <h1>Settings</h1>
      {can('admin') ? <ApiKeys /> : <p className="muted">API keys are managed by the tenant's admins.</p>}
      {can('admin') ? <ConsoleSessions /> : null}
      <McpServers />
      <Providers />
      {root ? <Tenants /> : null}
      {can('admin') ? <Policy /> : null}
    </section>
  );
}

function Providers() {
  const health = useApiQuery({ ...healthReport(), refetchInterval: 10_000 });
  const models = useApiQuery({ ...modelList(), staleTime: 60_000 });
  const providers = health.data?.components.model_providers;
  const breakers = (providers?.detail?.breakers ?? {}) as Record<string, string>;
  // Every provider the server has (its health lists each), with the models this tenant may use of it.
  const byProvider = new Map<string, string[]>(
    Object.keys(health.data?.components ?? {})
      .filter((name) => name.startsWith('model:'))
      .map((name) => [name.slice('model:'.length), []]),
  );
  // Agents the key may run as models (`agent/<name>`) are listed too: they are not a provider's.
  for (const m of (models.data ?? []).filter((m) => !m.id.startsWith('agent/')))
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
            <th>State</th>
            <th>Models this tenant may use</th>
          </tr>
        </thead>
        <tbody>
          {[...byProvider.entries()].map(([p, ids]) => (
            <tr key={p}>
              <td>{p}</td>
              <td>
                <ProviderState c={health.data?.components[`model:${p}`]} />
              </td>
              <td>{ids.join(', ') || <span className="muted">none</span>}</td>
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

/** A provider's light in words: not configured (no key) is not green, an open breaker is not either. */
function ProviderState({ c }: { c?: { status: string; detail?: Record<string, unknown> } }) {
  if (!c) return <span className="muted">—</span>;
  const reason = typeof c.detail?.reason === 'string' ? c.detail.reason : undefined;
  const breaker = typeof c.detail?.breaker === 'string' ? c.detail.breaker : undefined;
  const badge =
    { ok: 'ok', off: 'unchanged', degraded: 'input_required', down: 'error' }[c.status] ?? 'error';
  const word = c.status === 'off' ? 'off' : c.status === 'ok' ? 'ready' : `breaker ${breaker ?? c.status}`;
  return (
    <>
      <span className={`badge badge-${badge}`}>{word}</span>{' '}
      {reason ? <span className="muted small">{reason}</span> : null}
    </>
  );
}

function Policy() {
  // Read again on every visit: what the server holds now, after a tenants.yaml reload too.
  const policy = useApiQuery({ ...currentPolicy(), refetchOnMount: 'always' });
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
