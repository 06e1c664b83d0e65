import { keepPreviousData } from '@tanstack/react-query';
import { useId } from 'react';
import { Link, useSearchParams } from 'react-router';
import { TableWrap } from '../../components/Code';
import { ErrorNote } from '../../components/ErrorNote';
import { num, percent } from '../../lib/format';
import { useApiQuery } from '../../lib/query';
import { useUrlState } from '../../lib/url-state';
import { CompareItems } from './CompareItems';
import { type Comparison, experimentCompare } from './queries';

const signed = (v: number | null) => (v === null ? '—' : `${v > 0 ? '+' : ''}${v.toFixed(2)}`);

/** Experiments side by side against a baseline the reader picks: what improved, what regressed, by how much. */
export function CompareExperiments() {
  const [params] = useSearchParams();
  const ids = (params.get('ids') ?? '').split(',').filter(Boolean);
  // The baseline is in the URL too (`&baseline=…`): a comparison can be linked as it was read.
  const [picked, setBaseline] = useUrlState('baseline', '');
  const baseline = ids.includes(picked) ? picked : undefined;
  const compare = useApiQuery({
    ...experimentCompare(ids, baseline),
    enabled: ids.length >= 2,
    placeholderData: keepPreviousData,
  });
  const c = compare.data;
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
          <BaselinePicker comparison={c} onPick={setBaseline} />
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
                        {e.id === c.baseline ? <span className="muted"> (baseline)</span> : null}
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
          <Deltas comparison={c} />
          <h2>Item by item</h2>
          <CompareItems comparison={c} />
        </>
      ) : null}
    </section>
  );
}

/** Which of the compared experiments the others are measured against. */
function BaselinePicker({ comparison: c, onPick }: { comparison: Comparison; onPick: (id: string) => void }) {
  const id = useId();
  return (
    <form className="filters" aria-label="Baseline" onSubmit={(ev) => ev.preventDefault()}>
      <label htmlFor={`${id}-baseline`}>Baseline</label>
      <select id={`${id}-baseline`} value={c.baseline} onChange={(ev) => onPick(ev.target.value)}>
        {c.experiments.map((e) => (
          <option key={e.id} value={e.id}>
            {e.name}
          </option>
        ))}
      </select>
    </form>
  );
}

/**
 * Per evaluator, each experiment against the baseline: the mean of the paired differences, its
 * 95% interval, and the verdict (improved or regressed only when the interval leaves out 0).
 */
function Deltas({ comparison: c }: { comparison: Comparison }) {
  const nameOf = (id: string) => c.experiments.find((e) => e.id === id)?.name ?? id.slice(-8);
  const rows = c.deltas.flatMap((d) => d.evaluators.map((v) => ({ experiment: d.experiment_id, ...v })));
  return (
    <>
      <h2>Per evaluator, against {nameOf(c.baseline)}</h2>
      {rows.length === 0 ? <p className="muted">No evaluator both sides ran.</p> : null}
      {rows.length > 0 ? (
        <TableWrap label="Deltas by evaluator">
          <table>
            <thead>
              <tr>
                <th>Experiment</th>
                <th>Evaluator</th>
                <th>Mean delta</th>
                <th>95% interval</th>
                <th>Verdict</th>
                <th>Pairs</th>
                <th>Errors</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={`${r.experiment}:${r.name}`}
                  className={r.verdict === 'unchanged' ? undefined : r.verdict}
                >
                  <td>{nameOf(r.experiment)}</td>
                  <td>{r.name}</td>
                  <td>{signed(r.mean_delta)}</td>
                  <td>{r.interval ? `${signed(r.interval.low)} to ${signed(r.interval.high)}` : '—'}</td>
                  <td>{r.verdict}</td>
                  <td>{num(r.pairs)}</td>
                  <td>{num(r.errors)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </>
  );
}
