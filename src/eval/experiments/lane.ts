import type { Db, Queryable } from '../../db/db.ts';
import { childParent, endSpan, SpanKind, type SpanParent, startSpan } from '../../observability/spans.ts';
import type { TaskHandler } from '../../tasks/handlers.ts';
import type { ItemInput } from '../datasets/schema.ts';
import type { EvaluatorSpec } from '../evaluators/registry.ts';
import { type BoundEvaluator, bindEvaluators, type ScoreResult, scoreCase } from '../evaluators/score.ts';
import type { EvalContext, EvalDeps } from '../evaluators/types.ts';
import type { LanePayload } from './experiments.ts';
import {
  type ClaimedItem,
  claimItem,
  completeItem,
  finishIfDone,
  spent,
  stopExperiment,
  unclaimItem,
} from './items-sql.ts';
import { judgeBudget } from './judge-budget.ts';
import { runPrompt } from './prompt-subject.ts';
import type { ExperimentSubject, PromptSubject } from './schema.ts';

/**
 * One item's run, as the lane needs it from its `ItemRunner` port (below): eval stays below the
 * runtime, which implements the port (runtime/eval-ports.ts).
 */
export interface ItemRun {
  runId: string | null;
  status: 'completed' | 'failed' | 'cancelled' | 'input_required';
  output: string | null;
  toolCalls: { name: string; arguments: unknown }[];
  tokens: number;
  costUsd: number;
  latencyMs: number;
  error?: { code: string; message: string };
}

export interface ItemRunRequest {
  tenantId: string;
  tenantName: string;
  agentId: string;
  /** The version the experiment pins (null: the latest). */
  agentVersion: number | null;
  /** The team to run instead (its entry agent is `agentId`), or null. */
  teamId: string | null;
  input: ItemInput;
  /** The same on every attempt of this item: the item's run is started with it. */
  idempotencyKey: string;
  /**
   * An earlier attempt of the lane died on this item: the run it started (found by the key) may be
   * going on in another process, or be over. The runner follows that run rather than start a second.
   */
  resumed: boolean;
  trace?: SpanParent;
  signal: AbortSignal;
}

export interface ItemRunner {
  run(request: ItemRunRequest): Promise<ItemRun>;
}

export interface LaneDeps {
  db: Db;
  runner: ItemRunner;
  evalDeps: EvalDeps;
  tenantName(tenantId: string): Promise<string>;
  /** Tells the experiment's followers (its event stream) that it logged something. */
  announce?(experimentId: string): void;
  /** Items and scores, for metrics. */
  observe?: {
    item(outcome: 'completed' | 'error'): void;
    score(evaluator: BoundEvaluator, result: ScoreResult): void;
  };
}

interface ExperimentRow {
  id: string;
  tenant_id: string;
  subject: ExperimentSubject;
  prompt: PromptSubject | null;
  agent_id: string;
  agent_version: number | null;
  team_id: string | null;
  baseline_experiment_id: string | null;
  evaluators: EvaluatorSpec[];
  budget: { max_cost_usd?: number; max_tokens?: number; judge_max_cost_usd?: number };
  status: string;
}

/** A run refused because a budget (the tenant's, an agent's) is spent: the experiment stops rather than fail every item. */
const isBudgetRefusal = (e: { code: string; message: string }) =>
  (e.code === 'rate_limited' || e.code === 'exceeds_limit') && /\bbudget\b/.test(e.message);

/**
 * An experiment's lane: a queue task that claims items one at a time, runs each through the
 * agent, scores it and records it, until none is left or the experiment stops. Killed mid-item, the
 * task runs again (the queue's lease) and takes up the item it held, following the run it had
 * started for it (another process takes that run over): finished items are never redone, and an
 * item in flight is paid for once. The last lane to finish completes the experiment.
 */
export function experimentLaneHandler(deps: LaneDeps): TaskHandler {
  return async (task, ctx) => {
    const { experiment_id: experimentId, lane } = task.payload as LanePayload;
    const [exp] = await deps.db.query<ExperimentRow>(
      `select id, tenant_id, subject, prompt, agent_id, agent_version, team_id, baseline_experiment_id, evaluators,
              budget, status
         from experiments where id = $1 and tenant_id = $2`,
      [experimentId, task.tenant_id],
    );
    if (exp?.status !== 'running') return { summary: `experiment ${exp?.status ?? 'deleted'}` };
    const evaluators = bindEvaluators(exp.evaluators, deps.evalDeps);
    const tenantName = await deps.tenantName(exp.tenant_id);
    const evalCtx: EvalContext = {
      tenantId: exp.tenant_id,
      tenantName,
      signal: ctx.signal,
      ...(exp.budget.judge_max_cost_usd !== undefined && {
        judgeBudget: judgeBudget(deps.db, exp.id, exp.budget.judge_max_cost_usd),
      }),
    };
    let ran = 0;
    for (;;) {
      if (ctx.signal.aborted)
        throw new Error('the lane was stopped; it carries on from its item when run again');
      const item = await claimItem(deps.db, exp.id, lane);
      if (!item) break;
      const stop = await runItem(deps, exp, item, tenantName, evaluators, evalCtx, ctx.signal, ctx.trace);
      deps.announce?.(exp.id);
      ran++;
      if (stop) break;
    }
    if (await finishIfDone(deps.db, exp.tenant_id, exp.id)) deps.announce?.(exp.id);
    return { summary: `lane ${lane}: ${ran} items` };
  };
}

/** Runs, scores and records one item; true when the experiment must stop (a budget is spent). */
async function runItem(
  deps: LaneDeps,
  exp: ExperimentRow,
  item: ClaimedItem,
  tenantName: string,
  evaluators: readonly BoundEvaluator[],
  evalCtx: EvalContext,
  signal: AbortSignal,
  trace: SpanParent | undefined,
): Promise<boolean> {
  const span = startSpan(
    'eval.item',
    SpanKind.INTERNAL,
    { 'agentry.experiment.id': exp.id, 'agentry.experiment.item': item.seq },
    trace,
  );
  const parent = childParent(span, trace);
  let run: ItemRun;
  try {
    run = exp.prompt
      ? await runPrompt(modelsOf(deps), exp.prompt, item.input, {
          tenantId: exp.tenant_id,
          tenantName,
          experimentId: exp.id,
          trace: parent,
          signal,
        })
      : await deps.runner.run({
          tenantId: exp.tenant_id,
          tenantName,
          agentId: exp.agent_id,
          agentVersion: exp.agent_version,
          teamId: exp.team_id,
          input: item.input as ItemInput,
          idempotencyKey: `eval:${item.id}`,
          resumed: item.resumed,
          trace: parent,
          signal,
        });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    run = {
      runId: null,
      status: 'failed',
      output: null,
      toolCalls: [],
      tokens: 0,
      costUsd: 0,
      latencyMs: 0,
      error: { code: e.code ?? 'internal', message: e.message ?? String(err) },
    };
  }
  if (signal.aborted) {
    endSpan(span, { type: 'aborted' });
    throw new Error('the lane was stopped mid-item; the item runs again when the lane does');
  }
  if (run.error && isBudgetRefusal(run.error)) {
    await unclaimItem(deps.db, item.id);
    await stopExperiment(deps.db, exp.tenant_id, exp.id, 'budget_exhausted', run.error.message);
    endSpan(span, { type: 'budget_exhausted', message: run.error.message });
    return true;
  }
  const scores =
    run.status === 'completed'
      ? await scoreCase(
          evaluators,
          {
            input: item.input,
            output: run.output,
            expected: item.expected ?? null,
            ...(exp.baseline_experiment_id && {
              baseline: await baselineOutput(deps.db, exp.baseline_experiment_id, item.dataset_item_id),
            }),
            trace: {
              run_id: run.runId,
              status: run.status,
              tool_calls: run.toolCalls,
              latency_ms: run.latencyMs,
              tokens: run.tokens,
              cost_usd: run.costUsd,
            },
          },
          evalCtx,
          parent,
          deps.observe?.score,
        )
      : [];
  const outcome = run.status === 'completed' ? 'completed' : 'error';
  await completeItem(deps.db, exp.tenant_id, exp.id, item, {
    status: outcome,
    runId: run.runId,
    traceId: parent?.traceId ?? null,
    output: run.output,
    ...(outcome === 'error' && {
      errorCode: run.error?.code ?? run.status,
      errorMessage: run.error?.message ?? `the run ended ${run.status}`,
    }),
    scores,
    latencyMs: run.latencyMs,
    tokens: run.tokens,
    cost: run.costUsd,
  });
  deps.observe?.item(outcome);
  endSpan(
    span,
    outcome === 'error' ? { type: run.error?.code ?? run.status, message: run.error?.message } : undefined,
  );
  return overOwnBudget(deps.db, exp);
}

/** The experiment's own budget (`max_cost_usd`, `max_tokens`): past it, it stops with `budget_exhausted`. */
async function overOwnBudget(db: Db, exp: ExperimentRow): Promise<boolean> {
  const { max_cost_usd: maxCost, max_tokens: maxTokens } = exp.budget;
  if (maxCost === undefined && maxTokens === undefined) return false;
  const used = await spent(db, exp.id);
  const over =
    maxCost !== undefined && used.cost >= maxCost
      ? `the experiment's budget of ${maxCost} USD is spent (${used.cost.toPrecision(4)} USD)`
      : maxTokens !== undefined && used.tokens >= maxTokens
        ? `the experiment's budget of ${maxTokens} tokens is spent (${used.tokens} tokens)`
        : undefined;
  if (!over) return false;
  await stopExperiment(db, exp.tenant_id, exp.id, 'budget_exhausted', over);
  return true;
}

function modelsOf(deps: LaneDeps) {
  if (!deps.evalDeps.models) throw new Error('the model gateway is not available to experiments here');
  return deps.evalDeps.models;
}

/** The baseline experiment's output for the same dataset item (null when it has none: not run, or failed). */
async function baselineOutput(
  db: Queryable,
  baselineId: string,
  datasetItemId: string,
): Promise<string | null> {
  const [row] = await db.query<{ output: string | null }>(
    `select output from experiment_items where experiment_id = $1 and dataset_item_id = $2 and status = 'completed'`,
    [baselineId, datasetItemId],
  );
  return row?.output ?? null;
}
