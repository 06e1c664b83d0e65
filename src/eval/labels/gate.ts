import type { Queryable } from '../../db/db.ts';
import type { EvaluatorSpec } from '../evaluators/registry.ts';
import type { Summary } from '../experiments/schema.ts';
import { summarise } from '../experiments/summary.ts';
import type { Gate, GateEvidence } from './schema.ts';

/**
 * A release gate's check: the newest completed experiment of exactly `version` of the agent (run as
 * the agent, not as a team) on the gate's dataset and split (no split: on all the items), and its per-evaluator summary held against the
 * threshold and floors. The newest, not the best: a later run that fails is not hidden by an
 * earlier one that passed.
 */
export async function checkGate(
  db: Queryable,
  tenantId: string,
  agentId: string,
  version: number,
  stored: Gate,
): Promise<GateEvidence> {
  // Gates set before splits existed are of the whole dataset.
  const gate: Gate = { ...stored, split: stored.split ?? null };
  const [row] = await db.query<{
    id: string;
    name: string;
    evaluators: EvaluatorSpec[];
    created_at: Date;
    completed_at: Date | null;
  }>(
    `select id, name, evaluators, created_at, completed_at from experiments
      where tenant_id = $1 and agent_id = $2 and agent_version = $3 and dataset_id = $4
        and split is not distinct from $5 and team_id is null and status = 'completed'
      order by id desc limit 1`,
    [tenantId, agentId, version, gate.dataset_id, gate.split],
  );
  const of = gate.evaluator ?? 'mean of the evaluators';
  if (!row) {
    return {
      passed: false,
      gate,
      version,
      experiment: null,
      score: { of, value: null, threshold: gate.threshold },
      failures: [
        gate.split === null
          ? `no completed experiment of version ${version} on dataset ${gate.dataset} (all its items): run one (POST /v1/experiments with agent <name>@${version} and dataset ${gate.dataset})`
          : `no completed experiment of version ${version} on split ${gate.split} of dataset ${gate.dataset}: run one (POST /v1/experiments with agent <name>@${version}, dataset ${gate.dataset} and split ${gate.split})`,
      ],
    };
  }
  const summary = await summarise(db, row.id, row.evaluators);
  const ref = gate.evaluator_ref;
  if (!ref) return judge(gate, version, row, summary);
  // A named evaluator: the score that counts is the one the experiment got from it (at the gate's
  // version when it pins one), whatever that score was called; an inline look-alike does not count.
  const used = row.evaluators.find(
    (s) => s.ref?.id === ref.id && (ref.version === null || s.ref.version === ref.version),
  );
  const named = ref.version === null ? `evaluator ${ref.name}` : `evaluator ${ref.name}@${ref.version}`;
  const evidence = judge(
    { ...gate, evaluator: used ? (used.name ?? used.type) : ref.name },
    version,
    row,
    summary,
  );
  if (used) return { ...evidence, gate };
  return {
    ...evidence,
    gate,
    passed: false,
    failures: [`experiment ${row.name} did not score with the named ${named}`, ...evidence.failures],
  };
}

/** The evidence from one experiment's summary: pure, so what passes is plain to read. */
function judge(
  gate: Gate,
  version: number,
  e: { id: string; name: string; created_at: Date; completed_at: Date | null },
  summary: Summary,
): GateEvidence {
  const failures: string[] = [];
  const evaluators = summary.evaluators.map((s) => ({
    ...s,
    gate_mean: gateMean(s),
    floor: gate.floors[s.name] ?? null,
  }));
  const byName = new Map(evaluators.map((s) => [s.name, s]));
  let value: number | null;
  if (gate.evaluator !== null) {
    const one = byName.get(gate.evaluator);
    if (!one) failures.push(`experiment ${e.name} has no evaluator named ${gate.evaluator}`);
    value = one?.gate_mean ?? null;
  } else {
    const means = evaluators.map((s) => s.gate_mean);
    value = means.length > 0 && means.every((m) => m !== null) ? round(avg(means as number[])) : null;
  }
  const of = gate.evaluator ?? 'mean of the evaluators';
  if (value === null) {
    if (failures.length === 0) failures.push(`${of}: no score (nothing was scored)`);
  } else if (value < gate.threshold) {
    failures.push(`${of}: ${value} is below the threshold ${gate.threshold}`);
  }
  for (const [name, floor] of Object.entries(gate.floors)) {
    const s = byName.get(name);
    if (!s) failures.push(`floor of ${name}: experiment ${e.name} has no evaluator named ${name}`);
    else if (s.gate_mean === null || s.gate_mean < floor)
      failures.push(`${name}: ${s.gate_mean ?? 'no score'} is below its floor ${floor}`);
  }
  return {
    passed: failures.length === 0,
    gate,
    version,
    experiment: {
      id: e.id,
      name: e.name,
      agent_version: version,
      created_at: e.created_at.toISOString(),
      completed_at: e.completed_at?.toISOString() ?? null,
      evaluators,
    },
    score: { of, value, threshold: gate.threshold },
    failures,
  };
}

/**
 * The mean with every item the evaluator could not score counted as 0 (the summary's mean leaves
 * errors out): an evaluator that errored on half the items cannot carry a release on the other half.
 */
function gateMean(s: Summary['evaluators'][number]): number | null {
  const n = s.scored + s.errors;
  if (n === 0 || s.mean === null) return s.errors > 0 ? 0 : null;
  return round((s.mean * s.scored) / n);
}

const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (v: number) => Math.round(v * 1e4) / 1e4;
