import { Link } from 'react-router';
import { TableWrap } from '../../components/Code';
import { ApiError, type paths } from '../../lib/api';

type MoveResult =
  paths['/v1/agents/{id}/labels/{label}']['put']['responses'][200]['content']['application/json'];
export type Evidence = NonNullable<MoveResult['evidence']>;
export type Gate = Evidence['gate'];

const fixed = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));

/** A refused gated move's evidence (409 `details`), or undefined for any other error. */
export function refusalOf(error: unknown): Evidence | undefined {
  if (!(error instanceof ApiError) || error.status !== 409) return undefined;
  const d = error.details as Partial<Evidence> | undefined;
  return d && Array.isArray(d.failures) && d.score ? (d as Evidence) : undefined;
}

/** A gate in one line: `golden (split hard): exact_match ≥ 0.9; floors says ≥ 0.5`. */
export function gateText(g: Gate): string {
  const of = g.evaluator_ref
    ? `${g.evaluator_ref.name}${g.evaluator_ref.version ? `@${g.evaluator_ref.version}` : ''}`
    : (g.evaluator ?? 'the mean of the evaluators');
  const floors = Object.entries(g.floors).map(([k, v]) => `${k} ≥ ${v}`);
  return `${g.dataset}${g.split ? ` (split ${g.split})` : ''}: ${of} ≥ ${g.threshold}${
    floors.length ? `; floors ${floors.join(', ')}` : ''
  }`;
}

/**
 * Why a gate let a label move or refused it: the score it needed and the one the experiment got,
 * each evaluator against its floor, and what failed in words.
 */
export function GateEvidence({ evidence: e, label }: { evidence: Evidence; label: string }) {
  const x = e.experiment;
  return (
    <div role={e.passed ? 'status' : 'alert'} className={e.passed ? 'ok-note' : 'error'}>
      <p>
        <strong>
          {e.passed
            ? `The gate of ${label} passed for version ${e.version}.`
            : `The gate of ${label} refused version ${e.version}.`}
        </strong>{' '}
        Needed: {e.score.of} ≥ {e.score.threshold}. Got: {fixed(e.score.value)}
        {x ? (
          <>
            {' '}
            in <Link to={`/experiments/${x.id}`}>{x.name}</Link>
          </>
        ) : (
          ' (no experiment)'
        )}
        .
      </p>
      {e.failures.length > 0 ? (
        <ul aria-label="What failed">
          {e.failures.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      ) : null}
      {x && x.evaluators.length > 0 ? (
        <TableWrap label="Scores against the gate">
          <table>
            <thead>
              <tr>
                <th>Evaluator</th>
                <th>Gate mean (errors count 0)</th>
                <th>Floor</th>
              </tr>
            </thead>
            <tbody>
              {x.evaluators.map((v) => (
                <tr key={v.name}>
                  <td>{v.name}</td>
                  <td>{fixed(v.gate_mean)}</td>
                  <td>{fixed(v.floor)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </div>
  );
}
