import { useMemo } from 'react';
import { EmptyState } from '../../components/EmptyState';
import { ErrorNote } from '../../components/ErrorNote';
import { useAuth } from '../../lib/auth';
import { num, usd, when } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { useUrlState } from '../../lib/url-state';
import { TimeChart } from './Chart';
import { usageBudgets, usageSeries } from './queries';
import '../../components/ui.css';
import './usage.css';

/** Each time range with the bucket that keeps its chart readable. */
const ranges = {
  '1h': { ms: 3_600_000, bucket: 'minute' },
  '24h': { ms: 86_400_000, bucket: 'hour' },
  '7d': { ms: 7 * 86_400_000, bucket: 'hour' },
  '30d': { ms: 30 * 86_400_000, bucket: 'day' },
} as const;
const bucketMs = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type Range = keyof typeof ranges;
type By = 'agent' | 'model' | 'tenant';
const metrics = [
  { title: 'Requests', of: (p: Point) => p.requests },
  { title: 'Tokens', of: (p: Point) => p.input_tokens + p.output_tokens },
  // Of the tokens: prompt tokens the provider's cache served (priced lower), and those spent reasoning.
  { title: 'Cached input tokens', of: (p: Point) => p.cached_input_tokens },
  { title: 'Reasoning tokens', of: (p: Point) => p.reasoning_tokens },
  { title: 'Cost (USD)', of: (p: Point) => p.cost },
  { title: 'Errors', of: (p: Point) => p.errors },
];
const MAX_SERIES = 8;

interface Point {
  t: string;
  key: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  reasoning_tokens: number;
  cost: number;
}

/** Model calls, tokens, cost and errors over time, per agent, model or tenant; the budgets and what is left. */
export default function Usage() {
  const { me, can } = useAuth();
  // The view is in the URL (`?range=7d&by=model`): a chart can be linked and reloaded.
  const [range, setRange] = useUrlState<Range>('range', '24h', Object.keys(ranges) as Range[]);
  const [by, setBy] = useUrlState<By>('by', 'agent', ['agent', 'model', 'tenant']);
  const [all, setAll] = useUrlState<'' | 'true'>('all_tenants', '', ['', 'true']);
  const allTenants = all === 'true';
  const setAllTenants = (on: boolean) => setAll(on ? 'true' : '');
  const root = me.tenant_name === 'default' && can('admin');
  const { bucket, ms } = ranges[range];
  const usage = useApiQuery({ ...usageSeries({ ms, bucket, by, allTenants }), refetchInterval: 30_000 });
  const budgets = useApiQuery({ ...usageBudgets(), refetchInterval: 30_000 });
  const charts = useMemo(() => (usage.data ? toCharts(usage.data) : undefined), [usage.data]);

  return (
    <section>
      <h1>Usage</h1>
      <form className="filters" aria-label="Usage view" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range
          <select value={range} onChange={(e) => setRange(e.target.value as Range)}>
            {Object.keys(ranges).map((r) => (
              <option key={r} value={r}>
                last {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Per
          <select value={by} onChange={(e) => setBy(e.target.value as By)}>
            <option value="agent">agent</option>
            <option value="model">model</option>
            <option value="tenant">tenant</option>
          </select>
        </label>
        {root ? (
          <label className="inline">
            <input type="checkbox" checked={allTenants} onChange={(e) => setAllTenants(e.target.checked)} />{' '}
            every tenant
          </label>
        ) : null}
      </form>
      <ErrorNote error={usage.error} />
      {charts && charts.series.length === 0 ? (
        <EmptyState title="No model calls in this range">
          <p>Usage appears here once agents, tasks or /v1/chat/completions call a model.</p>
        </EmptyState>
      ) : null}
      {charts && charts.series.length > 0
        ? metrics.map((m, i) => (
            <TimeChart
              key={m.title}
              title={m.title}
              xs={charts.xs}
              series={charts.series.map((s) => ({ label: s.label, values: s.values[i]! }))}
            />
          ))
        : null}
      <h2>Budgets</h2>
      <ErrorNote error={budgets.error} />
      {budgets.data && budgets.data.length === 0 ? (
        <p className="muted">
          No budgets: set them per tenant or per agent in tenants.yaml (budgets: tokens_per_day,
          cost_per_month …).
        </p>
      ) : null}
      {budgets.data && budgets.data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>For</th>
              <th>Rule</th>
              <th>Used</th>
              <th>
                <abbr title="Held by calls in flight and by the slices processes take ahead">Reserved</abbr>
              </th>
              <th>Remaining</th>
              <th>Resets</th>
            </tr>
          </thead>
          <tbody>
            {budgets.data.map((b) => {
              const money = b.rule.startsWith('cost');
              const show = (n: number) => (money ? usd(n) : num(n));
              return (
                <tr key={`${b.agent}-${b.rule}`}>
                  <td>{b.scope === 'tenant' ? 'tenant' : `agent ${b.agent}`}</td>
                  <td>{b.rule}</td>
                  <td>
                    <meter min={0} max={b.limit} value={b.used} aria-label={`${b.rule} used`} />{' '}
                    {show(b.used)} of {show(b.limit)}
                  </td>
                  <td>{show(b.reserved)}</td>
                  <td>{show(b.remaining)}</td>
                  <td>{when(b.resets_at)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** The points as uPlot columns: every bucket of the range (zeros where nothing ran), the busiest keys as series. */
function toCharts(res: { since: string; until: string; bucket: string; data: Point[] }) {
  const step = bucketMs[res.bucket as keyof typeof bucketMs];
  const from = Date.parse(res.since);
  const n = Math.max(1, Math.ceil((Date.parse(res.until) - from) / step));
  const xs = Array.from({ length: n }, (_, i) => (from + i * step) / 1000);
  const totals = new Map<string, number>();
  for (const p of res.data) totals.set(p.key, (totals.get(p.key) ?? 0) + p.requests);
  const keys = [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_SERIES)
    .map(([k]) => k);
  const series = keys.map((key) => ({
    label: key || '(no agent)',
    values: metrics.map(() => new Array<number>(n).fill(0)),
  }));
  for (const p of res.data) {
    const s = keys.indexOf(p.key);
    const i = Math.floor((Date.parse(p.t) - from) / step);
    if (s < 0 || i < 0 || i >= n) continue;
    metrics.forEach((m, mi) => {
      series[s]!.values[mi]![i]! += m.of(p);
    });
  }
  return { xs, series };
}
