import type { ItemRun, ItemRunner, ItemRunRequest } from '../eval/experiments/lane.ts';
import type { LiveRun } from '../eval/live/live-scoring.ts';
import type { ModelCatalog } from '../models/catalog.ts';
import type { AgentRunner } from './agent-runner.ts';
import type { EndedRun, RunResult } from './types.ts';

// The runtime's side of eval's ports: eval sits below the runtime, so it says what it needs (an
// item run, a live run) and this file gives it, plugged in by the composition root.

/**
 * Runs one experiment item as a run of the agent (or team), through the runner queued tasks use: a
 * chat message, or a task's prompt as the queue would render it. An item an earlier attempt of its
 * lane died on follows the run that attempt started (found by the item's key, which the statement
 * that starts a run records with it; another process takes the run over), so a crash never pays
 * for an item twice.
 */
export function itemRunner(runner: AgentRunner, catalog: Pick<ModelCatalog, 'resolve' | 'cost'>): ItemRunner {
  return {
    async run(req): Promise<ItemRun> {
      const started = performance.now();
      const handle = await runner.run({
        tenantId: req.tenantId,
        tenantName: req.tenantName,
        trace: req.trace,
        runs: req.teamId
          ? { teamId: req.teamId }
          : { agentId: req.agentId, version: req.agentVersion ?? undefined },
        input: 'message' in req.input ? { message: req.input.message } : { task: taskOf(req.input) },
        idempotencyKey: req.idempotencyKey,
        ...(req.resumed && { earlier: { idempotencyKey: req.idempotencyKey } }),
      });
      const result = await handle.result();
      return itemRunOf(handle.runId, result, performance.now() - started, catalog);
    },
  };
}

/** A dataset item's task as its task type's template reads it: no description, an empty title when it has none. */
function taskOf(input: Exclude<ItemRunRequest['input'], { message: string }>) {
  return {
    title: input.title ?? '',
    description: '',
    task_type: input.task_type,
    payload: input.payload ?? {},
  };
}

/** How the item's run ended, as the lane records it. */
function itemRunOf(
  runId: string,
  result: RunResult,
  latencyMs: number,
  catalog: Pick<ModelCatalog, 'resolve' | 'cost'>,
): ItemRun {
  const tokens = result.usage.total_tokens;
  if (result.status === 'completed') {
    // A model the catalog has no price for (the mock, an agent as a model) costs nothing here.
    let costUsd = 0;
    try {
      costUsd = catalog.cost(catalog.resolve(result.model), result.usage);
    } catch {
      // No price for it (see above): the item costs 0.
    }
    return {
      runId,
      status: 'completed',
      output: result.text,
      toolCalls: result.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })),
      tokens,
      costUsd,
      latencyMs,
    };
  }
  return {
    runId,
    status: result.status,
    output: null,
    toolCalls:
      result.status === 'input_required'
        ? result.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }))
        : [],
    tokens,
    costUsd: 0,
    latencyMs,
    error:
      result.status === 'input_required'
        ? { code: 'input_required', message: 'the run waits for approval of a tool call' }
        : result.error,
  };
}

/** A run's end as the live evaluators read it. */
export const liveRunOf = (e: EndedRun): LiveRun => ({
  tenantId: e.tenantId,
  tenantName: e.tenantName,
  agentId: e.agentId,
  runId: e.runId,
  input: e.input,
  output: e.result.status === 'completed' ? e.result.text : null,
  status: e.result.status,
  toolCalls:
    'toolCalls' in e.result ? e.result.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })) : [],
  tokens: e.result.usage.total_tokens,
  durationMs: e.durationMs,
  idempotencyKey: e.idempotencyKey,
});
