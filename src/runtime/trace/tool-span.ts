import type { CallContext } from '../../models/types.ts';
import type { AgentMetrics } from '../../observability/agent-metrics.ts';
import {
  childParent,
  endSpan,
  inSpanContext,
  SpanKind,
  startSpan,
  type TraceHeaders,
  traceHeadersOf,
} from '../../observability/spans.ts';
import type { ToolOutcome } from '../../tools/types.ts';
import { traceString } from './value.ts';

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
    // A tool's error may quote what it was given (a key in a URL, an Authorization header): the
    // span's status goes to the operator's trace backend, so credentials in it are redacted.
    endSpan(span, outcome.ok ? undefined : { type: 'tool_error', message: traceString(outcome.error) });
    return outcome;
  } catch (err) {
    metrics?.toolCall(tool.name, (performance.now() - t0) / 1000, false);
    endSpan(span, { type: 'error', message: traceString(String((err as Error)?.message)) });
    throw err;
  }
}
