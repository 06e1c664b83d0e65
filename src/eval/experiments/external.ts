import type { Queryable } from '../../db/db.ts';
import { AppError, notFound } from '../../errors.ts';
import type { EvaluatorSpec } from '../evaluators/registry.ts';
import { type BoundEvaluator, bindEvaluators, type ScoreResult, scoreCase } from '../evaluators/score.ts';
import type { EvalContext, EvalDeps } from '../evaluators/types.ts';
import { type ItemRow, toItem } from './item-row.ts';
import { type ClaimedItem, completeItem, finishIfDone, unclaimItem } from './items-sql.ts';
import { judgeBudget } from './judge-budget.ts';
import type { Experiment, ExperimentItem, ReportOutput } from './schema.ts';

/** What scoring a reported output needs: the evaluators' dependencies, and who pays for judges. */
export interface OutputScoring {
  evalDeps: EvalDeps;
  tenantName(tenantId: string): Promise<string>;
  observe?: {
    item(outcome: 'completed' | 'error'): void;
    score(evaluator: BoundEvaluator, result: ScoreResult): void;
  };
}

/**
 * An output of the caller's function, recorded and scored like an item a lane ran: the item is
 * claimed (pending → running) by one statement, so of two reports of one item only the first is
 * scored; the second answers the item as the first left it. A stopped experiment takes no more
 * (409); an item of another experiment is not found (404). The last item reported completes it.
 */
export async function recordOutput(
  db: Queryable,
  scoring: OutputScoring,
  tenantId: string,
  e: Experiment,
  itemId: string,
  report: ReportOutput,
): Promise<ExperimentItem> {
  if (e.status !== 'running')
    throw new AppError('conflict', `experiment ${e.id} is ${e.status}: it takes no more outputs`);
  const [claimed] = await db.query<ClaimedItem>(
    `update experiment_items set status = 'running', started_at = now()
      where id = $1 and experiment_id = $2 and status = 'pending'
        and exists (select 1 from experiments x where x.id = $2 and x.status = 'running')
      returning id, seq, input, expected, false as resumed`,
    [itemId, e.id],
  );
  if (!claimed) {
    const item = await current(db, e, itemId);
    // Still pending: the experiment stopped between the read above and the claim.
    if (item.status === 'pending')
      throw new AppError('conflict', `experiment ${e.id} has stopped: it takes no more outputs`);
    return item;
  }
  try {
    await score(db, scoring, tenantId, e, claimed, report);
  } catch (err) {
    // Not recorded: the item goes back to pending, for the caller's retry.
    await unclaimItem(db, claimed.id);
    throw err;
  }
  await finishIfDone(db, tenantId, e.id);
  return current(db, e, itemId);
}

async function score(
  db: Queryable,
  scoring: OutputScoring,
  tenantId: string,
  e: Experiment,
  item: ClaimedItem,
  report: ReportOutput,
): Promise<void> {
  const failed = report.error !== undefined;
  const output = report.output ?? null;
  const ctx: EvalContext = {
    tenantId,
    tenantName: await scoring.tenantName(tenantId),
    // The request's end does not cut a judge short: the score is what the caller is waiting for.
    signal: new AbortController().signal,
    ...(typeof e.budget.judge_max_cost_usd === 'number' && {
      judgeBudget: judgeBudget(db, e.id, e.budget.judge_max_cost_usd),
    }),
  };
  const scores = failed
    ? []
    : await scoreCase(
        bindEvaluators(e.evaluators as EvaluatorSpec[], scoring.evalDeps),
        {
          input: item.input,
          output,
          expected: item.expected ?? null,
          trace: {
            run_id: null,
            status: 'completed',
            tool_calls: [],
            latency_ms: report.latency_ms,
            tokens: report.tokens ?? 0,
            cost_usd: report.cost_usd ?? 0,
          },
        },
        ctx,
        undefined,
        scoring.observe?.score,
      );
  await completeItem(db, tenantId, e.id, item, {
    status: failed ? 'error' : 'completed',
    runId: null,
    traceId: report.trace_id ?? null,
    output,
    ...(failed && {
      errorCode: report.error?.code ?? 'target_error',
      errorMessage: report.error?.message ?? 'the target threw',
    }),
    scores,
    latencyMs: report.latency_ms,
    tokens: report.tokens ?? 0,
    cost: report.cost_usd ?? 0,
  });
  scoring.observe?.item(failed ? 'error' : 'completed');
}

async function current(db: Queryable, e: Experiment, itemId: string): Promise<ExperimentItem> {
  const [row] = await db.query<ItemRow>(
    'select * from experiment_items where id = $1 and experiment_id = $2',
    [itemId, e.id],
  );
  if (!row) throw notFound('experiment item', itemId);
  return toItem(row);
}
