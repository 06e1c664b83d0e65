import {
  childParent,
  endSpan,
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
  end: (err?: unknown) => void;
} {
  const from = parentFromTraceparent(task.traceparent);
  const span = startSpan(
    `execute_task ${task.task_type}`,
    SpanKind.CONSUMER,
    { ...attributes(task), 'messaging.operation.type': 'process' },
    from,
  );
  return {
    parent: childParent(span, from),
    end: (err) =>
      endSpan(span, err === undefined ? undefined : { type: 'error', message: (err as Error)?.message }),
  };
}
