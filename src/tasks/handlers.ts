import type { Logger } from '../observability/logger.ts';
import type { SpanParent } from '../observability/spans.ts';
import type { ClaimedTask } from './rows.ts';

export interface HandlerContext {
  /** Aborts when the task is cancelled, its lease is lost, or the worker shuts down. */
  signal: AbortSignal;
  /** Appends a `progress` event to the task's stream (seen live over SSE). */
  progress(data: Record<string, unknown>): Promise<void>;
  /**
   * The same on every attempt of the task (`taskIdempotencyKey`): the queue delivers at least once,
   * so a handler whose side effects must not repeat de-duplicates them by this key.
   */
  idempotencyKey: string;
  log: Logger;
  /** The task's execution span, continuing the trace of the request that enqueued it. */
  trace?: SpanParent;
}

/**
 * A task's key for de-duplicating side effects, the same on every attempt. The task's id serves:
 * a client that enqueues twice with one `idempotency_key` gets the same task back, so one key of
 * theirs is one task id.
 */
export const taskIdempotencyKey = (task: Pick<ClaimedTask, 'id'>): string => `task:${task.id}`;

export interface HandlerResult {
  result?: unknown;
  /** A short human summary, shown in lists (`result_summary`). */
  summary?: string | null;
}

/**
 * Runs one attempt of a task. Resolve to complete it; throw to fail the attempt (retried with
 * backoff while attempts remain), or throw `NonRetryableError` to fail the task at once.
 */
export type TaskHandler = (task: ClaimedTask, ctx: HandlerContext) => Promise<HandlerResult | undefined>;

/** An error no retry can fix (bad input, no handler, a refused request): the task fails at once. */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

export const isRetryable = (err: unknown): boolean =>
  !(typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false);

const ANY = '*';

/**
 * Finds the handler of a task: the one registered for its agent and task type, else for its agent,
 * else for its task type, else the default (which runs the agent itself; `app.ts` plugs it in, so the
 * queue knows nothing about agents or models).
 */
export class HandlerRegistry {
  private readonly handlers = new Map<string, TaskHandler>();
  private fallback?: TaskHandler;

  register(match: { agentId?: string; taskType?: string }, handler: TaskHandler): this {
    this.handlers.set(`${match.agentId ?? ANY}/${match.taskType ?? ANY}`, handler);
    return this;
  }

  setDefault(handler: TaskHandler): this {
    this.fallback = handler;
    return this;
  }

  resolve(task: Pick<ClaimedTask, 'agent_id' | 'task_type'>): TaskHandler {
    const found =
      this.handlers.get(`${task.agent_id}/${task.task_type}`) ??
      this.handlers.get(`${task.agent_id}/${ANY}`) ??
      this.handlers.get(`${ANY}/${task.task_type}`) ??
      this.fallback;
    if (found) return found;
    return async () => {
      throw new NonRetryableError(
        `no runnable handler for agent ${task.agent_id}, task type ${task.task_type}: ` +
          'register one, or report the result through POST /v1/tasks/:id/callback',
      );
    };
  }
}
