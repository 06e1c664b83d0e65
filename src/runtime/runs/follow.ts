import type { Queryable } from '../../db/db.ts';
import type { LiveBus } from '../../events/bus.ts';
import { followToEnd } from '../../events/follow-to-end.ts';
import { readEvents, type StopSignal } from '../../events/log.ts';
import { type RunEvent, type RunEventWriter, TERMINAL_EVENT } from './events.ts';

/** Live events a follower may hold unread before it falls back to reading the log. */
const LIVE_QUEUE_LIMIT = 256;

export interface FollowRunOptions {
  db: Queryable;
  bus: LiveBus;
  runId: string;
  /** Resume after this seq (Last-Event-ID); 0 replays the whole stream. */
  afterSeq: number;
  signal: StopSignal;
  /** The run's writer when it executes in this process. */
  live?: { writer: RunEventWriter };
}

/**
 * A run's events after `afterSeq`, until its `session_end` or the signal. While the run executes in
 * this process, events come straight from its writer (no read per batch); what was written before
 * is replayed from the log first, duplicates dropped by seq. Once the run stops executing here
 * (paused for approval, cancelled by someone else, executed elsewhere), or once the follower falls
 * behind (its client reads slower than the run writes), the log is followed through the bus, which
 * sees every process's writes: a slow follower costs a read per batch, not a copy of the stream.
 */
export async function* followRun(options: FollowRunOptions): AsyncGenerator<RunEvent> {
  let last = options.afterSeq;
  if (options.live) {
    const { writer } = options.live;
    const queue: RunEvent[] = [];
    let ended = false;
    // Set when the follower fell LIVE_QUEUE_LIMIT events behind (a slow client): what the writer
    // delivers after that is dropped here and read back from the log, where it already is.
    let behind = false;
    let wake: (() => void) | undefined;
    const unsubscribe = writer.subscribe({
      event: (e) => {
        if (queue.length < LIVE_QUEUE_LIMIT) queue.push(e);
        else behind = true;
        wake?.();
      },
      end: () => {
        ended = true;
        wake?.();
      },
    });
    const onAbort = () => wake?.();
    options.signal.addEventListener('abort', onAbort);
    try {
      // The writer delivers everything after its lastSeq; anything between afterSeq and it (or
      // everything, when it does not know where the stream stands) is read from the log.
      if (writer.lastSeq < 0 || writer.lastSeq > last) {
        for (;;) {
          const batch = await readEvents(options.db, options.runId, last);
          for (const e of batch) {
            last = e.seq;
            yield e;
            if (e.type === TERMINAL_EVENT || options.signal.aborted) return;
          }
          if (batch.length < 1000) break;
        }
      }
      while (!options.signal.aborted) {
        const e = queue.shift();
        if (e) {
          if (e.seq <= last) continue;
          last = e.seq;
          yield e;
          if (e.type === TERMINAL_EVENT) return;
          continue;
        }
        if (ended || behind) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      options.signal.removeEventListener('abort', onAbort);
    }
    if (options.signal.aborted) return;
  }
  // A client resuming at (or after) the run's last event: nothing more will ever come.
  const [ended] = await options.db.query(
    `select 1 from events where stream_id = $1 and type = '${TERMINAL_EVENT}' and seq <= $2 limit 1`,
    [options.runId, last],
  );
  if (ended) return;
  yield* followToEnd(
    options.db,
    options.bus,
    options.runId,
    { afterSeq: last, signal: options.signal },
    runEnding,
  );
}

/** A run's stream ends at its `session_end`, which nothing follows. */
const runEnding = { ends: (type: string) => type === TERMINAL_EVENT };
