import type { Agent } from '../../agents/schema.ts';
import type { ToolRegistry } from '../../tools/registry.ts';
import type { RunResult } from '../types.ts';
import { event, type PendingEvent } from './events.ts';
import type { RunRow, StepRow } from './rows.ts';
import { toRun } from './rows.ts';

/** The runtime's own events (the start of a run, its end when it never executes) and recorded outcomes. */

export function systemEvent(agent: Agent, tools: ToolRegistry): PendingEvent {
  // With the tenant's MCP tools as last listed here (the run lists them again before the loop).
  const offered = tools.knownSpecs(agent.tenant_id, agent.tools).map((t) => t.function.name);
  return event('system', {
    agent_id: agent.id,
    agent: agent.name,
    model: agent.model,
    mode: agent.mode,
    tools: offered,
    ...(offered.length < agent.tools.length && {
      unknown_tools: agent.tools.filter((t) => !offered.includes(t)),
    }),
  });
}

/** A run's outcome as recorded (for runs that did not execute in this process). */
export function resultOf(row: RunRow, steps: StepRow[]): RunResult {
  const toolCalls = steps
    .filter((s) => s.kind === 'tool')
    .map((step) => ({
      id: step.tool_call_id ?? '',
      name: step.name,
      arguments: step.input,
      ...(step.error === null ? { output: step.output } : { error: step.error }),
    }));
  const lastModel = steps.filter((s) => s.kind === 'model').at(-1);
  if (row.status === 'completed') {
    return {
      status: 'completed',
      text: row.output ?? '',
      model: lastModel?.name ?? '',
      finishReason: String((lastModel?.output as { finish_reason?: string } | null)?.finish_reason ?? 'stop'),
      toolCalls,
      usage: row.usage,
    };
  }
  if (row.status === 'input_required') {
    return {
      status: 'input_required',
      pending: toRun(row).pending_tool_calls ?? [],
      toolCalls,
      usage: row.usage,
    };
  }
  return {
    status: row.status === 'cancelled' ? 'cancelled' : 'failed',
    error: { code: row.error_code ?? 'unknown', message: row.error_message ?? `run ${row.status}` },
    usage: row.usage,
  };
}
