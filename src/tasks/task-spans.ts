import {
  childParent,
  endSpan,
  inSpanContext,
  parentFromTraceparent,
  SpanKind,
  type SpanParent,
  startSpan,
} from '../observability/spans.ts';
import type { ClaimedTask } from './rows.ts';

/**
 * A task's spans continue the trace of the request that enqueued it, whichever process claims it:
 * the trace context is stored with the task (`tasks.traceparent`) and restored here.
 */

const attributes = (task: ClaimedTask) => ({
  'messaging.system': 'agentry',
  'messaging.destination.name': task.task_type,
  'agentry.task.id': task.id,
  'agentry.task.attempt': task.attempt,
});

/** The trace a task continues: the enqueuing request's span, with its `tracestate`. */
export function taskParent(task: {
  traceparent?: string | null;
  tracestate?: string | null;
}): SpanParent | undefined {
  const parent = parentFromTraceparent(task.traceparent);
  return parent && task.tracestate ? { ...parent, traceState: task.tracestate } : parent;
}

/** One `claim {type}` span per claimed task that was traced, over the claim statement's time. */
export function recordClaimSpans(batch: ClaimedTask[], startedAt: number, worker: string): void {
  for (const task of batch) {
    const parent = parentFromTraceparent(task.traceparent);
    if (!parent) continue;
    const span = startSpan(
      `claim ${task.task_type}`,
      SpanKind.CONSUMER,
      { ...attributes(task), 'messaging.operation.type': 'receive', 'agentry.worker': worker },
      parent,
      startedAt,
    );
    endSpan(span);
  }
}

/** The `execute_task {type}` span of an attempt; its children (the agent's run) hang under `parent`. */
export function startTaskSpan(task: ClaimedTask): {
  parent: SpanParent | undefined;
  /** Runs `fn` with this span active: the store's and Redis's client spans hang under it. */
  within: <T>(fn: () => T) => T;
  end: (err?: unknown) => void;
} {
  const from = taskParent(task);
  const span = startSpan(
    `execute_task ${task.task_type}`,
    SpanKind.CONSUMER,
    { ...attributes(task), 'messaging.operation.type': 'process' },
    from,
  );
  return {
    parent: childParent(span, from),
    within: (fn) => inSpanContext(span, fn),
    end: (err) =>
      endSpan(span, err === undefined ? undefined : { type: 'error', message: (err as Error)?.message }),
  };
}
