import type { Queryable } from '../db/db.ts';
import type { LiveBus } from './bus.ts';

/**
 * The append-only event log every live stream replays from (a task's lifecycle, a chat run's
 * deltas). `seq` is one global identity: a stream's events are its rows in seq order, and a client
 * resumes with the last seq it saw (`Last-Event-ID`).
 *
 * Writers that change a row and log its event in the same statement (the task queue) hold that
 * row's lock while the seq is drawn, so one stream's events commit in seq order and a reader that
 * resumes "after seq N" cannot miss one that commits late.
 */

/** Bus topic announcing "these streams have new events": a comma-separated list of stream ids. */
export const EVENTS_TOPIC = 'agentry_events';

export interface LoggedEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

interface EventRow {
  seq: string | number;
  type: string;
  data: Record<string, unknown>;
  at: Date;
}

export async function appendEvent(
  db: Queryable,
  tenantId: string,
  streamId: string,
  type: string,
  data: Record<string, unknown> = {},
): Promise<number> {
  const [row] = await db.query<{ seq: string }>(
    'insert into events (tenant_id, stream_id, type, data) values ($1, $2, $3, $4::jsonb) returning seq',
    [tenantId, streamId, type, JSON.stringify(data)],
  );
  return Number(row!.seq);
}

/** A stream's events after `afterSeq`, oldest first. */
export async function readEvents(
  db: Queryable,
  streamId: string,
  afterSeq = 0,
  limit = 1000,
): Promise<LoggedEvent[]> {
  const rows = await db.query<EventRow>(
    `select seq, type, data, at from events where stream_id = $1 and seq > $2 order by seq limit $3`,
    [streamId, afterSeq, limit],
    // Every follower of a live stream reads here after each announcement: parsed once per connection.
    { name: 'agentry_read_events' },
  );
  return rows.map((r) => ({ seq: Number(r.seq), type: r.type, data: r.data, at: r.at.toISOString() }));
}

/** Whether the stream has logged anything after `seq` (a retried task goes on after its end). */
export async function hasEventsAfter(db: Queryable, streamId: string, seq: number): Promise<boolean> {
  const rows = await db.query('select 1 from events where stream_id = $1 and seq > $2 limit 1', [
    streamId,
    seq,
  ]);
  return rows.length > 0;
}

/** Tells followers in every process that these streams have new events. Coalesced by the caller. */
export async function announce(bus: LiveBus, streamIds: readonly string[]): Promise<void> {
  // A NOTIFY payload is limited to 8000 bytes: 200 ids of 37 characters fit comfortably.
  for (let i = 0; i < streamIds.length; i += 200) {
    await bus.publish(EVENTS_TOPIC, streamIds.slice(i, i + 200).join(','));
  }
}

/**
 * What a follower needs of the signal that ends it: an AbortSignal is one, and so is the lighter
 * signal of an open event stream (models/call-signal.ts).
 */
export interface StopSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * Stops when either signal does, with no signal of its own: AbortSignal.any makes an EventTarget
 * that both sources hold in Sets, ~1 kB for as long as an open stream waits for its run. A class,
 * not an object literal with a getter (that costs an accessor pair per object). A listener added
 * here may be called once by each.
 */
export class EitherSignal implements StopSignal {
  constructor(
    private readonly a: StopSignal,
    private readonly b: StopSignal,
  ) {}

  get aborted(): boolean {
    return this.a.aborted || this.b.aborted;
  }

  addEventListener(type: 'abort', listener: () => void): void {
    this.a.addEventListener(type, listener);
    this.b.addEventListener(type, listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    this.a.removeEventListener(type, listener);
    this.b.removeEventListener(type, listener);
  }
}

export interface FollowOptions {
  afterSeq: number;
  signal: StopSignal;
  /** Longest wait without an announcement before reading anyway (a lost NOTIFY must not stall a stream). */
  pollMs?: number;
}

/**
 * Replays a stream after `afterSeq`, then follows it live: woken by announcements on the bus, with a
 * slow poll as the safety net. Ends when `signal` aborts.
 */
export async function* followEvents(
  db: Queryable,
  bus: LiveBus,
  streamId: string,
  options: FollowOptions,
): AsyncGenerator<LoggedEvent> {
  let wake: (() => void) | undefined;
  let dirty = false;
  const unsubscribe = await bus.subscribe(EVENTS_TOPIC, (message) => {
    if (!message.includes(streamId)) return;
    dirty = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  options.signal.addEventListener('abort', onAbort);
  try {
    let after = options.afterSeq;
    while (!options.signal.aborted) {
      dirty = false;
      const events = await readEvents(db, streamId, after);
      for (const e of events) {
        after = e.seq;
        yield e;
        if (options.signal.aborted) return;
      }
      if (events.length > 0 || dirty) continue;
      // A stop during the read found no waiter to wake: seen here, or it would wait out the poll.
      if (options.signal.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 2000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    await unsubscribe();
  }
}
