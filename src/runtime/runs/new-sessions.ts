import type { Db } from '../../db/db.ts';
import { isRowValueError } from '../../errors.ts';
import {
  AgentChanged,
  type BeginInput,
  type Begun,
  beginNewSessions,
  type PlannedStart,
  planNewSession,
} from './begin.ts';

interface Waiting {
  start: PlannedStart;
  resolve(begun: Begun): void;
  reject(err: unknown): void;
}

/**
 * Coalesces the first turns of new sessions into one statement per write, as the queue's
 * completion buffer does for ends: a start is written at once when fewer than `maxWrites` writes are
 * in flight, and the starts that arrive meanwhile go together in the next one. A burst of chats
 * (hundreds opened at once) then costs a statement, a round trip and a commit per batch instead of
 * per chat, which is what bound the opening rate (one write system call and one commit per run);
 * a lone chat waits for nothing.
 *
 * A batch the store refuses as a whole for what one start holds (a data or integrity error: a
 * value its column refuses) is written again one start at a time, so that only that start fails;
 * any other error (the store down or busy) fails the batch's starts alike, without a retry.
 */
export class NewSessionStarts {
  private readonly queue: Waiting[] = [];
  private writes = 0;

  constructor(
    private readonly db: Db,
    /** Most starts per statement. */
    private readonly maxBatch = 100,
    /**
     * Most characters of the starts' JSON per statement (a start alone may be larger): a burst of
     * chats near the body limit makes several statements of a few megabytes, not one of a hundred.
     */
    private readonly maxChars = 4 * 1024 * 1024,
    /** Writes in flight at once: the next batch is filled while one is on the wire. */
    private readonly maxWrites = 2,
  ) {}

  begin(b: BeginInput): Promise<Begun> {
    return new Promise<Begun>((resolve, reject) => {
      this.queue.push({ start: planNewSession(b), resolve, reject });
      if (this.writes < this.maxWrites) {
        this.writes++;
        // After the microtasks queued now: the starts they make go in the same statement.
        queueMicrotask(() => this.writeNext());
      }
    });
  }

  private writeNext(): void {
    const batch = this.queue.splice(0, this.batchLength());
    if (batch.length === 0) {
      this.writes--;
      return;
    }
    void this.write(batch).then(() => this.writeNext());
  }

  /** How many of the queue's first starts the next statement takes: one at least. */
  private batchLength(): number {
    let n = 0;
    let size = 0;
    for (const w of this.queue) {
      if (n === this.maxBatch || (n > 0 && size + w.start.json.length > this.maxChars)) break;
      size += w.start.json.length;
      n++;
    }
    return n;
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const results = await beginNewSessions(
        this.db,
        batch.map((w) => w.start),
      );
      for (const [i, w] of batch.entries()) settle(w, results[i]!);
    } catch (err) {
      if (batch.length > 1 && isRowValueError(err)) {
        await Promise.all(batch.map((w) => this.write([w])));
        return;
      }
      for (const w of batch) w.reject(err);
    }
  }
}

function settle(w: Waiting, result: Begun | AgentChanged): void {
  if (result instanceof AgentChanged) w.reject(result);
  else w.resolve(result);
}
