import type { ToolCall } from '../../models/types.ts';
import {
  childParent,
  endSpan,
  inSpanContext,
  SpanKind,
  type SpanParent,
  startSpan,
} from '../../observability/spans.ts';
import type { RunResult } from '../types.ts';

/**
 * The `invoke_agent {agent}` span of a run (OpenTelemetry GenAI conventions): its model calls
 * (`chat`) and tool calls (`execute_tool`) hang under it; it hangs under the request or the task
 * that started the run. Returns where children go and a function that ends it with the run's outcome.
 */
export function startRunSpan(
  r: { runId: string; sessionId: string; agentId: string; agentName: string; model: string },
  parent: SpanParent | undefined,
): {
  parent: SpanParent | undefined;
  /** Runs `fn` with this span active: the store's and Redis's client spans hang under it. */
  within: <T>(fn: () => T) => T;
  end: (result: RunResult | undefined, err?: unknown) => void;
} {
  const span = startSpan(
    `invoke_agent ${r.agentName}`,
    SpanKind.INTERNAL,
    {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': r.agentId,
      'gen_ai.agent.name': r.agentName,
      'gen_ai.conversation.id': r.sessionId,
      'gen_ai.request.model': r.model,
      'agentry.run_id': r.runId,
    },
    parent,
  );
  return {
    parent: childParent(span, parent),
    within: (fn) => inSpanContext(span, fn),
    end: (result, err) => {
      if (result) {
        span.setAttribute('agentry.run.status', result.status);
        span.setAttribute('gen_ai.usage.input_tokens', result.usage.prompt_tokens);
        span.setAttribute('gen_ai.usage.output_tokens', result.usage.completion_tokens);
      }
      if (err) endSpan(span, { type: 'error', message: (err as Error)?.message });
      else if (result?.status === 'failed')
        endSpan(span, { type: result.error.code, message: result.error.message });
      else endSpan(span);
    },
  };
}

/**
 * The `approval_wait` span of a run that paused for a human's approval, recorded when it resumes
 * (the wait may outlast the process that paused): from the pause to the decision, under the
 * resumed run's span, with the decision and the tools that waited. A run of an agent model that
 * waited on its caller's tool results records the same span as `caller_tool_wait`.
 */
export function recordApprovalWait(
  resume: {
    toolCalls: ToolCall[];
    approved: boolean;
    pausedAt?: Date;
    supplied?: ReadonlyMap<string, string>;
  },
  runId: string,
  agentName: string,
  parent: SpanParent | undefined,
): void {
  const span = startSpan(
    // A wait for the caller's own tool results (agent models) rather than for a person.
    resume.supplied ? 'caller_tool_wait' : 'approval_wait',
    SpanKind.INTERNAL,
    {
      'gen_ai.agent.name': agentName,
      'agentry.run_id': runId,
      'agentry.approval.approved': resume.approved,
      'agentry.approval.tools': resume.toolCalls.map((c) => c.function.name),
      'agentry.approval.tool_call_ids': resume.toolCalls.map((c) => c.id),
    },
    parent,
    resume.pausedAt?.getTime(),
  );
  endSpan(span);
}
