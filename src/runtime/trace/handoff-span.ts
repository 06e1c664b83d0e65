import type { Agent } from '../../agents/schema.ts';
import { childParent, endSpan, SpanKind, type SpanParent, startSpan } from '../../observability/spans.ts';

/**
 * The `handoff {agent}` span of a swarm: from the handoff to the end of the receiving member's
 * turn (its answer, the next handoff, or a failure). That member's model and tool calls hang
 * under it; the span says who handed over, and how many handoffs the run has made.
 */
export function startHandoffSpan(
  h: { from: Agent; to: Agent; number: number; truncated: boolean },
  parent: SpanParent | undefined,
): { parent: SpanParent | undefined; end: (err?: unknown) => void } {
  const span = startSpan(
    `handoff ${h.to.name}`,
    SpanKind.INTERNAL,
    {
      'gen_ai.agent.id': h.to.id,
      'gen_ai.agent.name': h.to.name,
      'agentry.handoff.from': h.from.name,
      'agentry.handoff.to': h.to.name,
      'agentry.handoff.number': h.number,
      'agentry.handoff.context_truncated': h.truncated,
    },
    parent,
  );
  return {
    parent: childParent(span, parent),
    end: (err) =>
      endSpan(span, err === undefined ? undefined : { type: 'error', message: (err as Error)?.message }),
  };
}
