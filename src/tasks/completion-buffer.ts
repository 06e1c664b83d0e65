import type { Db } from '../db/db.ts';
import { toError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { type Completed, completeTasks, type TaskCompletion } from './complete.ts';

/**
 * Coalesces completions into one statement per write, with no timer: the first completion starts a
 * write at once (after the current microtasks, so the attempts finishing together go together), and
 * whatever finishes while a write is in flight goes in the next one, written as soon as it returns.
 * Batches grow with the load by themselves, and a lone completion is never held back.
 *
 * A timer would not do: on the embedded store the claim loop can run for many statements without
 * yielding to the event loop (PGlite answers in microtasks), so a timed flush would wait for the loop
 * to go idle while finished tasks stayed `in_progress` and counted against their tenant's cap.
 *
 * A completion that cannot be written (the store is down for every retry) is dropped with an error
 * log: its lease then expires and the task runs again, so nothing is lost, only repeated.
 */
export class CompletionBuffer {
  private pending: TaskCompletion[] = [];
  private writing?: Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly owner: string,
    private readonly log: Logger,
    private readonly onDone: (done: Completed[], attempted: number) => void,
    /** Passed to `completeTasks`: announce the completed streams from inside the statement. */
    private readonly announceOn?: string,
    /** Most completions per statement (one claim's worth at the largest `claim_batch`). */
    private readonly maxBatch = 500,
  ) {}

  add(c: TaskCompletion): void {
    this.pending.push(c);
    this.writing ??= this.drain();
  }

  /** Resolves when everything buffered so far is written (or given up). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        await this.write(batch);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async write(batch: TaskCompletion[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.onDone(await completeTasks(this.db, this.owner, batch, this.announceOn), batch.length);
        return;
      } catch (err) {
        if (attempt >= 5) {
          this.log.error(
            { err: toError(err), tasks: batch.map((c) => c.id) },
            'could not record completions',
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }
}
