import type { RetrievedChunk } from '../../memory/retrieval.ts';
import { endSpan, inSpanContext, SpanKind, type SpanParent, startSpan } from '../../observability/spans.ts';

/**
 * Runs one knowledge retrieval inside its `retrieval {agent}` span: which knowledge bases were
 * searched, how (hybrid or text), how many chunks came back and from which documents. The query
 * text is not recorded (it is message content); its embedding and queries hang under the span.
 */
export async function inRetrievalSpan<R extends { chunks: RetrievedChunk[]; mode: string; warning?: string }>(
  r: { agentName: string; knowledgeBases: { id: string; name: string }[]; topK: number },
  parent: SpanParent | undefined,
  retrieve: () => Promise<R>,
): Promise<R> {
  const span = startSpan(
    `retrieval ${r.agentName}`,
    SpanKind.INTERNAL,
    {
      'gen_ai.operation.name': 'retrieval',
      'gen_ai.agent.name': r.agentName,
      'gen_ai.data_source.id': r.knowledgeBases.map((k) => k.id),
      'agentry.retrieval.knowledge_bases': r.knowledgeBases.map((k) => k.name),
      'agentry.retrieval.top_k': r.topK,
    },
    parent,
  );
  try {
    const result = await inSpanContext(span, retrieve);
    span.setAttribute('agentry.retrieval.mode', result.mode);
    span.setAttribute('agentry.retrieval.chunks', result.chunks.length);
    span.setAttribute('agentry.retrieval.documents', [...new Set(result.chunks.map((c) => c.document.id))]);
    if (result.warning) span.setAttribute('agentry.retrieval.warning', result.warning);
    endSpan(span);
    return result;
  } catch (err) {
    endSpan(span, { type: 'error', message: (err as Error)?.message });
    throw err;
  }
}
