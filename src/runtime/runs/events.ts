import type { Queryable } from '../../db/db.ts';
import type { LiveBus } from '../../events/bus.ts';
import { announce, type LoggedEvent } from '../../events/log.ts';
import type { Logger } from '../../observability/logger.ts';

/**
 * A run's events on their way to the shared event log (stream id = run id) and to the listeners in
 * this process. Events are buffered and written in batches: one insert per batch, the next batch
 * starting when the previous one is written, so a fast model's text deltas cost one statement per
 * round trip rather than one each, while a slow one's are written as they come. Listeners get an
 * event once it is in the log, with its seq (the SSE `id:`); the statements that record a run's
 * steps and end (`advance` in run-store.ts) take what is still buffered through `record` and write
 * it with the run's new state. One statement at a time writes a run's events, so listeners get them
 * in seq order.
 */

/** The event that ends every run's stream. */
export const TERMINAL_EVENT = 'session_end';

export interface PendingEvent {
  type: string;
  data: Record<string, unknown>;
  at: string;
}

export type RunEvent = LoggedEvent;

/** An event stamped now, for a buffer or a statement to write. */
export function event(type: string, data: Record<string, unknown> = {}): PendingEvent {
  return { type, data, at: new Date().toISOString() };
}

export interface RunListener {
  event(e: RunEvent): void;
  /** The run stopped executing here (finished, paused, cancelled): follow the log from now on. */
  end(): void;
}

/**
 * Appends events to a running run's stream in one statement, in order; returns them with their seqs,
 * or undefined when the run is no longer running (cancelled or failed from elsewhere, which wrote
 * its stream's end). The run's row is read FOR SHARE: a cancel's update waits for a batch in
 * flight, and a batch that comes after the cancel sees the new status, so no event lands after (or
 * between) the `error` and `session_end` the cancel wrote.
 */
export async function insertRunEvents(
  db: Queryable,
  tenantId: string,
  runId: string,
  events: readonly PendingEvent[],
  /** Only while this process holds the run's lease: a process that lost it to a takeover writes nothing. */
  owner?: string,
): Promise<RunEvent[] | undefined> {
  if (events.length === 0) return [];
  // Identity values follow the insert's input order (the ORDER BY), so sorted seqs match the batch.
  const rows = await db.query<{ seq: string }>(
    `with live as (
       select id from runs where id = $2 and status = 'running' and ($4::text is null or lease_owner = $4)
       for share)
     insert into events (tenant_id, stream_id, type, data, at)
     select $1, live.id, x.e->>'type', x.e->'data', (x.e->>'at')::timestamptz
     from live cross join jsonb_array_elements($3::jsonb) with ordinality as x(e, n) order by x.n
     returning seq`,
    [tenantId, runId, JSON.stringify(events), owner ?? null],
    // Each batch of a streaming run's events: parsed and planned once per connection.
    { name: 'agentry_run_events' },
  );
  if (rows.length === 0) return undefined;
  return withSeqs(
    events,
    rows.map((r) => Number(r.seq)),
  );
}

export function withSeqs(events: readonly PendingEvent[], seqs: readonly (number | string)[]): RunEvent[] {
  const sorted = seqs.map(Number).sort((a, b) => a - b);
  return events.map((e, i) => ({ seq: sorted[i]!, type: e.type, data: e.data, at: e.at }));
}

/**
 * Coalesces "stream X has new events" announcements: one publish per tick for every stream that
 * wrote in it, so thousands of streaming runs do not cost thousands of NOTIFYs.
 */
export class Announcer {
  private readonly dirty = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly bus: LiveBus,
    private readonly log: Logger,
  ) {}

  add(streamId: string): void {
    this.dirty.add(streamId);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const ids = [...this.dirty];
      this.dirty.clear();
      announce(this.bus, ids).catch((err) => this.log.warn({ err }, 'announcing run events failed'));
    });
  }
}

export class RunEventWriter {
  private buffer: PendingEvent[] = [];
  private flushing?: Promise<void>;
  /** A `record` statement in flight (settled, never rejected). */
  private recording?: Promise<void>;
  private readonly listeners = new Set<RunListener>();
  /** Seq of the last event delivered to listeners. */
  lastSeq = 0;
  private failure?: unknown;
  private scheduled = false;
  /** The run was ended elsewhere: its stream's end is written, and nothing more is. */
  private ended = false;
  /** The buffer holds an event that waits for the next recorded step (`emit(…, true)`). */
  private held = false;

  constructor(
    private readonly db: Queryable,
    private readonly announcer: Announcer,
    readonly tenantId: string,
    readonly runId: string,
    private readonly owner?: string,
  ) {}

  /**
   * Buffers an event. `withStep`: it (and whatever follows it) waits for `record`, the statement
   * that records the next step, rather than being written on its own first.
   */
  emit(type: string, data: Record<string, unknown> = {}, withStep = false): void {
    if (this.ended) return;
    this.buffer.push(event(type, data));
    if (withStep) this.held = true;
    if (this.held || this.flushing || this.recording || this.scheduled) return;
    // Wait one turn of the event loop before writing: when the run's next state write follows at
    // once (a fast model's whole answer, a tool round), `record` folds these events into it and the
    // batch costs no statement of its own.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /**
   * Runs `statement` (one that records the run's next step or its end) with the events still
   * buffered, after the batch in flight, and delivers the events it wrote. Until it returns, no
   * batch of this run is written and another `record` waits: two statements in flight could be
   * answered out of seq order, and a follower drops an event whose seq is below one it has had (a
   * DAG's parallel nodes lost a `node_end` so). After a batch failed, `record` throws (the run fails
   * at its step: a stream with holes is worse), unless `afterFailure`, which hands over no events
   * (the statement that ends the run).
   */
  async record<T extends { events: readonly RunEvent[] }>(
    statement: (buffered: PendingEvent[]) => Promise<T | undefined>,
    afterFailure = false,
  ): Promise<T | undefined> {
    // Checked and set in one synchronous step after each wait, so two callers cannot both pass.
    while (this.flushing || this.recording) await (this.flushing ?? this.recording);
    if (this.failure && !afterFailure) throw this.failure;
    const buffered = this.failure ? [] : this.buffer;
    this.buffer = [];
    this.held = false;
    const written = statement(buffered);
    this.recording = written.then(
      () => {},
      () => {},
    );
    try {
      const result = await written;
      if (result) this.deliver(result.events);
      return result;
    } finally {
      this.recording = undefined;
      // What was emitted meanwhile goes out now.
      this.flush();
    }
  }

  /** Hands written events to the listeners. */
  private deliver(events: readonly RunEvent[]): void {
    if (events.length === 0) return;
    this.announcer.add(this.runId);
    for (const e of events) {
      this.lastSeq = e.seq;
      for (const l of this.listeners) l.event(e);
    }
  }

  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The run stopped executing in this process. */
  end(): void {
    for (const l of this.listeners) l.end();
    this.listeners.clear();
  }

  /** Starts writing the buffer, unless something writes already or it waits for a step. */
  private flush(): void {
    if (this.buffer.length > 0 && !this.flushing && !this.recording && !this.held && !this.ended) {
      this.flushing = this.flushLoop();
    }
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.buffer.length > 0 && !this.held) {
        const batch = this.buffer;
        this.buffer = [];
        const written = await insertRunEvents(this.db, this.tenantId, this.runId, batch, this.owner);
        // Ended elsewhere: its stream's end is written, and the executor learns it at its next step.
        if (!written) {
          this.ended = true;
          this.buffer = [];
          return;
        }
        this.deliver(written);
      }
    } catch (err) {
      // Surfaces at the run's next step (`record`), which fails the run: a stream with holes is worse.
      this.failure = err;
    } finally {
      this.flushing = undefined;
    }
  }
}
