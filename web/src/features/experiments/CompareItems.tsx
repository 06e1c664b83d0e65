import { Link } from 'react-router';
import { TableWrap } from '../../components/Code';
import { pretty } from '../../lib/format';
import type { Comparison } from './queries';

/** What a compared value reads as: a message's text, anything else as JSON. */
const shown = (v: unknown) =>
  typeof v === 'string'
    ? v
    : typeof v === 'object' && v && 'message' in v
      ? String((v as { message: unknown }).message)
      : pretty(v ?? null);

const score = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));
const signed = (v: number | null) => (v === null ? '' : ` ${v > 0 ? '+' : ''}${v.toFixed(2)}`);

/** Each item: its input and expected output, every experiment's output and score, the change against the baseline. */
export function CompareItems({ comparison: c }: { comparison: Comparison }) {
  const nameOf = (id: string) => c.experiments.find((e) => e.id === id)?.name ?? id.slice(-8);
  const several = c.experiments.length > 2;
  return (
    <TableWrap label="Items compared">
      <table>
        <thead>
          <tr>
            <th>Input</th>
            <th>Expected</th>
            {c.experiments.map((e) => (
              <th key={e.id}>{e.name}</th>
            ))}
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {c.items.map((i) => {
            // With one candidate the row is coloured by its change; with several, each says its own.
            const only = several ? undefined : i.changes[0]?.change;
            return (
              <tr key={i.dataset_item_id} className={only === 'unchanged' ? undefined : only}>
                <td className="prewrap">{shown(i.input)}</td>
                <td className="prewrap">
                  {i.expected === null || i.expected === undefined ? '—' : shown(i.expected)}
                </td>
                {i.results.map((r) => (
                  <td key={r.experiment_id} className="prewrap">
                    <div>{r.output ?? (r.status === 'error' ? 'error' : '—')}</div>
                    <div className="muted small">
                      score {r.run_id ? <Link to={`/runs/${r.run_id}`}>{score(r.mean)}</Link> : score(r.mean)}
                      {r.errors.length > 0 ? ` (${r.errors.join(', ')} errored)` : ''}
                    </div>
                  </td>
                ))}
                <td>
                  {i.changes.length === 0
                    ? '—'
                    : i.changes.map((ch) => (
                        <div key={ch.experiment_id}>
                          {several ? `${nameOf(ch.experiment_id)}: ` : ''}
                          {ch.change}
                          {signed(ch.delta)}
                        </div>
                      ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}
