import { Link, useSearchParams } from 'react-router';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { num, percent } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { experimentCompare } from './queries';

const score = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));
const signed = (v: number | null) => (v === null ? '—' : `${v > 0 ? '+' : ''}${v.toFixed(2)}`);

/** Experiments side by side against the first: what improved, what regressed, by how much. */
export function CompareExperiments() {
  const [params] = useSearchParams();
  const ids = (params.get('ids') ?? '').split(',').filter(Boolean);
  const compare = useApiQuery({ ...experimentCompare(ids), enabled: ids.length >= 2 });
  const c = compare.data;
  const nameOf = (id: string) => c?.experiments.find((e) => e.id === id)?.name ?? id.slice(-8);
  return (
    <section>
      <p>
        <Link to="/experiments">← Experiments</Link>
      </p>
      <h1>Compare experiments</h1>
      {ids.length < 2 ? <p>Tick two experiments in the list to compare them.</p> : null}
      <ErrorNote error={compare.error} />
      {c ? (
        <>
          <p>
            Baseline: <Link to={`/experiments/${c.baseline}`}>{nameOf(c.baseline)}</Link>
          </p>
          <TableWrap label="Summaries">
            <table>
              <thead>
                <tr>
                  <th>Experiment</th>
                  <th>Pass rate</th>
                  <th>Improved</th>
                  <th>Regressed</th>
                  <th>Unchanged</th>
                </tr>
              </thead>
              <tbody>
                {c.experiments.map((e) => {
                  const n = c.counts.find((x) => x.experiment_id === e.id);
                  return (
                    <tr key={e.id}>
                      <td>
                        <Link to={`/experiments/${e.id}`}>{e.name}</Link>
                      </td>
                      <td>{percent(e.summary.pass_rate)}</td>
                      <td>{n ? num(n.improved) : '—'}</td>
                      <td>{n ? num(n.regressed) : '—'}</td>
                      <td>{n ? num(n.unchanged) : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          <h2>Item by item</h2>
          <TableWrap label="Items compared">
            <table>
              <thead>
                <tr>
                  <th>Input</th>
                  {c.experiments.map((e) => (
                    <th key={e.id}>{e.name}</th>
                  ))}
                  <th>Change</th>
                </tr>
              </thead>
              <tbody>
                {c.items.map((i) => {
                  const change = i.changes[0];
                  return (
                    <tr
                      key={i.dataset_item_id}
                      className={change?.change === 'unchanged' ? undefined : change?.change}
                    >
                      <td className="prewrap">
                        {typeof i.input === 'object' && i.input && 'message' in i.input
                          ? String((i.input as { message: unknown }).message)
                          : JSON.stringify(i.input)}
                      </td>
                      {i.results.map((r) => (
                        <td key={r.experiment_id}>
                          {r.run_id ? <Link to={`/runs/${r.run_id}`}>{score(r.mean)}</Link> : score(r.mean)}
                        </td>
                      ))}
                      <td>{change ? `${change.change} ${signed(change.delta)}` : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        </>
      ) : null}
    </section>
  );
}
