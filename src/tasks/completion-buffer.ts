import type { Db } from '../db/db.ts';
import { toError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { type Completed, type Completion, completeTasks } from './complete.ts';

/**
 * Buffers completions for a few milliseconds and writes them with one statement. At high
 * throughput this turns N round trips into one; at low rates it costs at most `delayMs` between a
 * handler returning and its task showing `completed`. Flushes run one at a time, in order.
 *
 * A completion that cannot be written (the store is down for every retry) is dropped with an error
 * log: its lease then expires and the task runs again, so nothing is lost, only repeated.
 */
export class CompletionBuffer {
  private pending: Completion[] = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly owner: string,
    private readonly log: Logger,
    private readonly onDone: (done: Completed[], attempted: number) => void,
    private readonly delayMs = 2,
    private readonly maxBatch = 200,
  ) {}

  add(c: Completion): void {
    this.pending.push(c);
    if (this.pending.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Writes everything buffered so far; resolves when it is written (or given up). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.chain = this.chain.then(() => this.write(batch));
    return this.chain;
  }

  private async write(batch: Completion[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.onDone(await completeTasks(this.db, this.owner, batch), batch.length);
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
