import type { Db } from '../../db/db.ts';
import { AgentChanged, type BeginInput, type Begun, beginNewSessions } from './begin.ts';

interface Waiting {
  b: BeginInput;
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
    /** Most starts per statement: a batch's JSON stays well under a megabyte for ordinary turns. */
    private readonly maxBatch = 100,
    /** Writes in flight at once: the next batch is filled while one is on the wire. */
    private readonly maxWrites = 2,
  ) {}

  begin(b: BeginInput): Promise<Begun> {
    return new Promise<Begun>((resolve, reject) => {
      this.queue.push({ b, resolve, reject });
      if (this.writes < this.maxWrites) {
        this.writes++;
        // After the microtasks queued now: the starts they make go in the same statement.
        queueMicrotask(() => this.writeNext());
      }
    });
  }

  private writeNext(): void {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) {
      this.writes--;
      return;
    }
    void this.write(batch).then(() => this.writeNext());
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const results = await beginNewSessions(
        this.db,
        batch.map((w) => w.b),
      );
      for (const [i, w] of batch.entries()) settle(w, results[i]!);
    } catch (err) {
      if (batch.length > 1 && isDataError(err)) {
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

/** A PostgreSQL data exception (class 22) or integrity violation (class 23): caused by a row's values. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
