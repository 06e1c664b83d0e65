import type { Db } from '../db/db.ts';
import { appendEvent } from '../events/log.ts';
import type { Logger } from '../observability/logger.ts';
import type { SpanParent } from '../observability/spans.ts';
import { type HandlerContext, taskIdempotencyKey } from './handlers.ts';
import type { ClaimedTask } from './rows.ts';

/** What every attempt of one worker shares. */
export interface AttemptEnv {
  db: Db;
  log: Logger;
  /** Tells the streams' followers to read the log. */
  announce(ids: string[]): void;
}

/**
 * One attempt a worker runs: the worker's bookkeeping of it, and the context its handler gets.
 *
 * One object per attempt with its members on the prototype, and everything a handler may not use
 * made on first use: at thousands of no-op attempts a second, a context object built of closures
 * per attempt (getters, a `progress` function) and an AbortSignal per attempt were a third of the
 * worker's CPU.
 */
export class Attempt implements HandlerContext {
  readonly startedAt = performance.now();
  /** Lease lost (expired, cancelled, reported externally) or handed back: results are dropped. */
  detached = false;
  /** Settles when the attempt's outcome is recorded (or given up). */
  done?: Promise<void>;
  private controller?: AbortController;
  /** Set when the attempt is aborted, whether or not the handler has looked at its signal yet. */
  private abortReason?: Error;
  private child?: Logger;
  private boundProgress?: HandlerContext['progress'];
  trace?: SpanParent;

  constructor(
    readonly task: ClaimedTask,
    private readonly env: AttemptEnv,
  ) {}

  get idempotencyKey(): string {
    return taskIdempotencyKey(this.task);
  }

  /** A handler that first looks after the attempt was dropped gets it already aborted. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get log(): Logger {
    this.child ??= this.env.log.child({ task: this.task.id, attempt: this.task.attempt });
    return this.child;
  }

  /** Bound, so a handler may take it out of its context (`const { progress } = ctx`). */
  get progress(): HandlerContext['progress'] {
    this.boundProgress ??= (data) => this.appendProgress(data);
    return this.boundProgress;
  }

  /** Drops the attempt: its result will be discarded and its signal aborts (now, or when first read). */
  detach(reason: string): void {
    if (this.detached) return;
    this.detached = true;
    this.abortReason = new Error(reason);
    this.controller?.abort(this.abortReason);
  }

  private async appendProgress(data: Record<string, unknown>): Promise<void> {
    if (this.detached) return;
    await appendEvent(this.env.db, this.task.tenant_id, this.task.id, 'progress', data);
    this.env.announce([this.task.id]);
  }
}
