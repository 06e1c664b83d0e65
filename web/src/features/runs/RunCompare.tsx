import { Link, useSearchParams } from 'react-router';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { StatusBadge } from '../../components/StatusBadge';
import { duration, num, pretty, usd } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { runCompare } from './queries';

const signed = (n: number, show: (n: number) => string) =>
  `${n > 0 ? '+' : n < 0 ? '−' : ''}${show(Math.abs(n))}`;
const clip = (v: unknown) => {
  const t = v === null || v === undefined ? '—' : pretty(v);
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
};

/** /runs/compare?a=&b=: two runs side by side (GET /v1/runs/compare), and b minus a. */
export function RunCompare() {
  const [params] = useSearchParams();
  const a = params.get('a') ?? '';
  const b = params.get('b') ?? '';
  const compare = useApiQuery({ ...runCompare(a, b), enabled: Boolean(a && b) });
  const c = compare.data;
  return (
    <section>
      <p>
        <Link to={a ? `/runs/${a}` : '/runs'}>← Run</Link>
      </p>
      <h1>Compare runs</h1>
      <ErrorNote error={compare.error} />
      {!c ? (
        compare.error ? null : (
          <p className="muted">Loading…</p>
        )
      ) : (
        <>
          <TableWrap label="The two runs">
            <table>
              <thead>
                <tr>
                  <th />
                  <th>
                    A: <Link to={`/runs/${c.a.id}`}>{c.a.id.slice(-8)}</Link>
                  </th>
                  <th>
                    B: <Link to={`/runs/${c.b.id}`}>{c.b.id.slice(-8)}</Link>
                  </th>
                  <th>B − A</th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <th scope="row">Status</th>
                  <td>
                    <StatusBadge status={c.a.status} />
                  </td>
                  <td>
                    <StatusBadge status={c.b.status} />
                  </td>
                  <td />
                </tr>
                <tr>
                  <th scope="row">Agent version</th>
                  <td>{c.a.agent_version ?? '—'}</td>
                  <td>{c.b.agent_version ?? '—'}</td>
                  <td />
                </tr>
                <tr>
                  <th scope="row">Output</th>
                  <td className="prewrap">{c.a.output ?? '—'}</td>
                  <td className="prewrap">{c.b.output ?? '—'}</td>
                  <td>{c.difference.same_output ? 'same' : 'different'}</td>
                </tr>
                <tr>
                  <th scope="row">Steps</th>
                  <td>{num(c.a.steps.length)}</td>
                  <td>{num(c.b.steps.length)}</td>
                  <td>{signed(c.difference.steps, num)}</td>
                </tr>
                <tr>
                  <th scope="row">Tokens</th>
                  <td>{num(c.a.usage.total_tokens)}</td>
                  <td>{num(c.b.usage.total_tokens)}</td>
                  <td>{signed(c.difference.total_tokens, num)}</td>
                </tr>
                <tr>
                  <th scope="row">Cost</th>
                  <td>{usd(c.a.cost)}</td>
                  <td>{usd(c.b.cost)}</td>
                  <td>{signed(c.difference.cost, usd)}</td>
                </tr>
                <tr>
                  <th scope="row">Latency</th>
                  <td>{duration(c.a.latency_ms)}</td>
                  <td>{duration(c.b.latency_ms)}</td>
                  <td>
                    {c.difference.latency_ms === null ? '—' : signed(c.difference.latency_ms, duration)}
                  </td>
                </tr>
              </tbody>
            </table>
          </TableWrap>
          <h2>Step by step</h2>
          {c.aligned_at === null ? null : (
            <p className="muted">
              Lined up at the fork point, step {c.aligned_at}: steps 0 to {c.aligned_at - 1} were kept by the
              fork as its parent recorded them, not run again; from step {c.aligned_at} on, the fork ran anew.
            </p>
          )}
          <TableWrap label="Steps side by side">
            <table>
              <thead>
                <tr>
                  <th>Step</th>
                  <th>A</th>
                  <th>B</th>
                </tr>
              </thead>
              <tbody>
                {c.steps.map((s) => (
                  <tr key={s.idx} className={s.kept ? 'muted' : undefined}>
                    <td>
                      {s.idx}
                      {s.kept ? <span className="badge">kept</span> : null}
                    </td>
                    {[s.a, s.b].map((x, i) => (
                      <td key={i === 0 ? 'a' : 'b'} className="prewrap">
                        {x ? `${x.kind} ${x.name}: ${x.error ?? clip(x.output)}` : '—'}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
    </section>
  );
}
