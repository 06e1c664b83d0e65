import type { CallContext } from '../models/types.ts';
import type { AgentMetrics } from '../observability/agent-metrics.ts';
import {
  childParent,
  endSpan,
  inSpanContext,
  SpanKind,
  startSpan,
  type TraceHeaders,
  traceHeadersOf,
} from '../observability/spans.ts';
import type { ToolOutcome } from '../tools/types.ts';

/** Runs one tool call inside its `execute_tool {tool}` span (OpenTelemetry GenAI conventions). */
export async function inToolSpan(
  call: Pick<CallContext, 'traceId' | 'parentSpanId' | 'traceState'>,
  tool: { name: string; callId: string },
  metrics: AgentMetrics | undefined,
  /** Gets the W3C headers naming this span, for a tool that calls a server (MCP). */
  run: (trace: TraceHeaders | undefined) => Promise<ToolOutcome>,
): Promise<ToolOutcome> {
  const t0 = performance.now();
  const parent = call.traceId
    ? { traceId: call.traceId, spanId: call.parentSpanId, traceState: call.traceState }
    : undefined;
  const span = startSpan(
    `execute_tool ${tool.name}`,
    SpanKind.INTERNAL,
    {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool.name,
      'gen_ai.tool.call.id': tool.callId,
      'gen_ai.tool.type': 'function',
    },
    parent,
  );
  try {
    const outcome = await inSpanContext(span, () => run(traceHeadersOf(childParent(span, parent))));
    metrics?.toolCall(tool.name, (performance.now() - t0) / 1000, outcome.ok);
    endSpan(span, outcome.ok ? undefined : { type: 'tool_error', message: outcome.error });
    return outcome;
  } catch (err) {
    metrics?.toolCall(tool.name, (performance.now() - t0) / 1000, false);
    endSpan(span, { type: 'error', message: (err as Error)?.message });
    throw err;
  }
}
