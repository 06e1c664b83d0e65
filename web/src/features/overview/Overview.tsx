import { Link } from 'react-router';
import { ErrorNote } from '../../components/ErrorNote';
import { ComponentHealth, Light } from './HealthGlyph';
import { useActivity, useHealth, usePolicy, useUsageToday } from './queries';
import '../../components/ui.css';
import './overview.css';
import { num, percent, usd } from '../../lib/format';

/** The system at a glance: health per component, the last hour's runs and tasks, today's spend. */
export default function Overview() {
  const health = useHealth();
  const activity = useActivity();
  const usage = useUsageToday();
  const policy = usePolicy();
  const budgets = policy.data?.policy.budgets;
  const h = health.data;
  return (
    <section className="overview">
      <h1>Overview</h1>
      <ErrorNote error={health.error} />
      {h ? (
        <div className="health-card" aria-live="polite">
          <p className="health" data-overall={h.overall}>
            <Light status={h.status} /> System: <strong>{h.overall}</strong> ({h.status})
            <span className="muted">
              {' '}
              · version {h.version} · up {Math.round(h.uptime_s / 60)} min
            </span>
          </p>
          <ul className="components" aria-label="Components">
            {Object.entries(h.components).map(([name, c]) => (
              <ComponentHealth key={name} name={name} c={c} />
            ))}
          </ul>
        </div>
      ) : health.isPending ? (
        <p className="muted">Checking health…</p>
      ) : null}

      <h2>Last hour</h2>
      <ErrorNote error={activity.error} />
      {activity.data ? (
        activity.data.runs.total + activity.data.tasks.total === 0 ? (
          <p className="muted">
            Nothing ran in the last hour. Create an agent on the <Link to="/agents">Agents</Link> page, then
            talk to it in the <Link to="/playground">Playground</Link>.
          </p>
        ) : (
          <div className="cards">
            <Counts title="Runs" c={activity.data.runs} />
            <Counts title="Tasks" c={activity.data.tasks} />
          </div>
        )
      ) : null}

      <h2>Spend today</h2>
      <ErrorNote error={usage.error ?? policy.error} />
      {usage.data ? (
        <div className="cards">
          <Spend label="Tokens" used={usage.data.tokens} limit={budgets?.tokens_per_day} format={num} />
          <Spend label="Cost" used={usage.data.cost} limit={budgets?.cost_per_day} format={usd} />
          <div className="card">
            <h3>Model calls</h3>
            <p className="big">{num(usage.data.requests)}</p>
            <p className="muted">{num(usage.data.errors)} failed</p>
          </div>
        </div>
      ) : null}
    </section>
  );
}

function Counts({
  title,
  c,
}: {
  title: string;
  c: { total: number; by_status: Record<string, number>; error_rate: number | null };
}) {
  return (
    <div className="card">
      <h3>{title}</h3>
      <p className="big">{c.total}</p>
      <p>
        Error rate <strong>{percent(c.error_rate)}</strong>
      </p>
      <table>
        <caption className="sr-only">{title} by outcome</caption>
        <tbody>
          {Object.entries(c.by_status).map(([s, n]) => (
            <tr key={s}>
              <th scope="row">{s.replace('_', ' ')}</th>
              <td>{n}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Spend({
  label,
  used,
  limit,
  format,
}: {
  label: string;
  used: number;
  limit?: number;
  format: (n: number) => string;
}) {
  return (
    <div className="card">
      <h3>{label}</h3>
      <p className="big">{format(used)}</p>
      {limit ? (
        <>
          <meter
            min={0}
            max={limit}
            value={Math.min(used, limit)}
            low={limit * 0.8}
            high={limit * 0.95}
            optimum={0}
            aria-label={`${label} against the daily budget`}
          />
          <p className="muted">
            of {format(limit)} a day ({percent(used / limit)})
          </p>
        </>
      ) : (
        <p className="muted">No daily budget set (tenants.yaml)</p>
      )}
    </div>
  );
}
