import {
  childParent,
  endSpan,
  SpanKind,
  startSpan,
  type TraceHeaders,
  traceHeadersOf,
} from '../observability/spans.ts';
import type { TaskRow } from './rows.ts';
import { taskParent } from './task-spans.ts';

/**
 * The CLIENT span of one callback delivery, in the trace of the request that enqueued the task;
 * its receiver gets `traceparent` (naming this span) and the request's `tracestate`.
 */
export function startCallbackSpan(
  task: Pick<TaskRow, 'id' | 'task_type' | 'traceparent' | 'tracestate'>,
  url: string,
  attempt: number,
): { headers: TraceHeaders | undefined; end: (status: number | undefined, error?: string) => void } {
  const parent = taskParent(task);
  const span = startSpan(
    'POST',
    SpanKind.CLIENT,
    {
      'http.request.method': 'POST',
      'server.address': new URL(url).hostname,
      'http.request.resend_count': attempt - 1,
      'agentry.task.id': task.id,
      'agentry.task.type': task.task_type,
    },
    parent,
  );
  return {
    headers: traceHeadersOf(childParent(span, parent)),
    end: (status, error) => {
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      const failed = error !== undefined || status === undefined || status >= 400;
      endSpan(span, failed ? { type: status ? String(status) : 'error', message: error } : undefined);
    },
  };
}
