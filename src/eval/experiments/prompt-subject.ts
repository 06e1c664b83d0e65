import type { ChatMessage, ModelGateway } from '../../models/types.ts';
import type { SpanParent } from '../../observability/spans.ts';
import { fillTemplate } from '../../text/template.ts';
import type { ItemRun } from './lane.ts';
import type { PromptSubject } from './schema.ts';

/** Who pays for and traces a prompt item's call. */
export interface PromptCall {
  tenantId: string;
  tenantName: string;
  experimentId: string;
  trace?: SpanParent;
  signal: AbortSignal;
}

/** The messages a prompt sends for an item: its system prompt, and its template filled from the item's input. */
export function promptMessages(prompt: PromptSubject, input: unknown): ChatMessage[] {
  return [
    ...(prompt.system ? [{ role: 'system' as const, content: prompt.system }] : []),
    { role: 'user', content: fillTemplate(prompt.template, { input }) },
  ];
}

/**
 * One item of a prompt experiment: one call through the gateway, which applies the tenant's policy,
 * budgets and rate limits, records its usage (billed to the tenant as `experiment:<id>`) and traces
 * it under the item's span. It is not a run: there is no agent, no tools and no steps to record, and
 * a lane that dies mid-call calls again when it runs again (one call may be paid twice).
 */
export async function runPrompt(
  models: ModelGateway,
  prompt: PromptSubject,
  input: unknown,
  call: PromptCall,
): Promise<ItemRun> {
  const started = performance.now();
  const timing: { cost?: number } = {};
  const completion = await models.complete(
    {
      model: prompt.model,
      messages: promptMessages(prompt, input),
      ...(prompt.temperature !== undefined && { temperature: prompt.temperature }),
      ...(prompt.max_tokens !== undefined && { max_tokens: prompt.max_tokens }),
      ...(prompt.top_p !== undefined && { top_p: prompt.top_p }),
      ...(prompt.stop !== undefined && { stop: prompt.stop }),
    },
    {
      tenantId: call.tenantId,
      tenantName: call.tenantName,
      agentName: `experiment:${call.experimentId}`,
      traceId: call.trace?.traceId,
      parentSpanId: call.trace?.spanId,
      traceState: call.trace?.traceState,
      signal: call.signal,
      timing,
    },
  );
  return {
    runId: null,
    status: 'completed',
    output: completion.message.content ?? '',
    toolCalls: [],
    tokens: completion.usage.total_tokens,
    costUsd: timing.cost ?? 0,
    latencyMs: performance.now() - started,
  };
}
