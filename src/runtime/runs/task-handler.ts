import type { Agent } from '../../agents/schema.ts';
import { AppError, isNotFound } from '../../errors.ts';
import { type HandlerResult, NonRetryableError, type TaskHandler } from '../../tasks/handlers.ts';
import type { AgentRunner } from '../agent-runner.ts';
import type { Runtime } from '../runtime.ts';
import type { AgentSource, RunHandle, RunResult } from '../types.ts';

export interface AgentTaskDeps {
  agents: AgentSource;
  /** The version a task's try runs, recorded on the task (tasks.ts `settleAgentVersion`). */
  settleAgentVersion(tenantId: string, taskId: string, latest: number): Promise<number>;
  /** Starts the task's run, or follows the one an earlier try started. */
  runner: AgentRunner;
  runtime: Pick<Runtime, 'wait' | 'cancel'>;
  /** The tenant's name, for model policy and budgets (they are keyed by name). */
  tenantName(tenantId: string): Promise<string>;
}

/**
 * The queue's default handler: runs the agent loop on the task, rendered through its task type's
 * prompt template, as a run (with tools, steps and a stream of its own) in the task's session, or
 * a new one. A COLLABORATIVE agent's run that waits for approval keeps the task in progress: the
 * task's stream gets a `progress` event naming the run, and the task completes once someone
 * approves or denies (POST /v1/runs/:id/approve). Cancelling the task cancels the run. An agent
 * with `env: remote` runs the same way: the run's executor posts the task to its runtime, through the
 * guarded outbound client, with the task's idempotency key.
 */
export function agentTaskHandler(deps: AgentTaskDeps): TaskHandler {
  return async (task, ctx): Promise<HandlerResult> => {
    let agent: Agent;
    try {
      // The pinned version, or the latest now: recorded, so a retry runs the same one.
      const latest = await deps.agents.get(task.tenant_id, task.agent_id);
      const version = await deps.settleAgentVersion(task.tenant_id, task.id, latest.version);
      agent =
        version === latest.version ? latest : await deps.agents.at(task.tenant_id, task.agent_id, version);
    } catch (err) {
      if (isNotFound(err)) {
        throw new NonRetryableError(`agent ${task.agent_id} no longer exists`);
      }
      throw err;
    }
    const tenantName = await deps.tenantName(task.tenant_id);
    let handle: RunHandle;
    try {
      // A task run again after its worker died or drained: its run survived (another process took it
      // over, docs/durability.md), so the task follows that run rather than start a second one.
      handle = await deps.runner.run({
        tenantId: task.tenant_id,
        tenantName,
        trace: ctx.trace,
        runs: { agent },
        input: { task },
        idempotencyKey: ctx.idempotencyKey,
        queued: { taskId: task.id, sessionId: task.session_id ?? undefined },
        earlier: { taskId: task.id },
      });
    } catch (err) {
      throw refusal(err);
    }
    const onAbort = () => {
      deps.runtime
        .cancel(task.tenant_id, handle.runId, 'the task was cancelled or lost its lease')
        .catch((err) =>
          ctx.log.warn({ err, run_id: handle.runId }, 'could not cancel the run of an aborted task'),
        );
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      let result: RunResult = await handle.result();
      if (result.status === 'input_required') {
        await ctx.progress({
          run_id: handle.runId,
          status: 'input_required',
          tool_calls: result.pending,
          message: `waiting for approval: POST /v1/runs/${handle.runId}/approve or /deny`,
        });
        result = await deps.runtime.wait(task.tenant_id, handle.runId, { signal: ctx.signal });
      }
      if (result.status === 'completed') {
        return {
          result: {
            answer: result.text,
            model: result.model,
            finish_reason: result.finishReason,
            usage: result.usage,
            tool_calls: result.toolCalls,
            run_id: handle.runId,
            session_id: handle.sessionId,
          },
          summary: result.text.length > 200 ? `${result.text.slice(0, 199)}…` : result.text,
        };
      }
      if (result.status === 'input_required') throw new Error('the run is still waiting for approval');
      const message = `run ${handle.runId} ${result.status}: ${result.error.message}`;
      throw result.status === 'failed' && retryable(result)
        ? new Error(message)
        : new NonRetryableError(message);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  };
}

/** A model outage, a rate limit, a shutdown or a crash may pass; a refusal or max_steps will not. */
const RETRYABLE = new Set([
  // This worker's process shut down and handed the run to another: the task's next try follows it.
  'released',
  'internal',
  'bad_gateway',
  'unavailable',
  'gateway_timeout',
  'rate_limited',
  'store_unavailable',
]);
const retryable = (result: Extract<RunResult, { status: 'failed' | 'cancelled' }>) =>
  RETRYABLE.has(result.error.code);

function refusal(err: unknown): unknown {
  if (err instanceof AppError && err.status < 500 && err.status !== 429) {
    return new NonRetryableError(err.message, { cause: err });
  }
  return err;
}
