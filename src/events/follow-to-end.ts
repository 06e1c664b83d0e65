import type { Queryable } from '../db/db.ts';
import type { LiveBus } from './bus.ts';
import { type FollowOptions, followEvents, hasEventsAfter, type LoggedEvent } from './log.ts';

/** How a followed stream ends: what its owner logs last. */
export interface StreamEnding {
  /** An event after which the stream ends, when nothing more is logged after it. */
  ends(type: string): boolean;
  /**
   * An event that undoes an earlier end (an experiment resumed after it stopped); other events keep
   * it (an item still logging its result). Without it, any event that does not end undoes an end.
   */
  reopens?(type: string): boolean;
  /** Asked once an end has nothing logged after it: false follows on (its owner still works). */
  settled?(): Promise<boolean>;
}

/**
 * A stream's events after `afterSeq`, live, until its end: an ending event with nothing logged after
 * it (a retried task, a resumed experiment go on), or the signal. Returns whether the stream ended
 * (false: the follower stopped first). Runs, tasks and experiments follow their streams through this.
 */
export async function* followToEnd(
  db: Queryable,
  bus: LiveBus,
  streamId: string,
  options: FollowOptions,
  ending: StreamEnding,
): AsyncGenerator<LoggedEvent, boolean> {
  let ended = false;
  for await (const e of followEvents(db, bus, streamId, options)) {
    yield e;
    if (ending.ends(e.type)) ended = true;
    else if (ending.reopens ? ending.reopens(e.type) : true) ended = false;
    if (ended && !(await hasEventsAfter(db, streamId, e.seq)) && ((await ending.settled?.()) ?? true)) {
      return true;
    }
  }
  return false;
}
