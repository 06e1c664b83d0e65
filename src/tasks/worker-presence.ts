import { hostname } from 'node:os';
import type { Db, Queryable } from '../db/db.ts';
import { toError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

export interface PresenceOptions {
  db: Db;
  log: Logger;
  /** The worker's lease owner id, so a row and the leases it holds name the same worker. */
  id: string;
  role: string;
  slots: number;
  /** A worker not seen for this long is counted dead (the task lease length: its leases lapse too). */
  aliveSeconds: number;
}

/**
 * The heartbeat row of one worker process in `queue_workers`: written at start, refreshed three
 * times per liveness window, deleted at a graceful stop. A process that dies leaves its row, which
 * simply stops counting once `last_seen` is older than the window (and is swept an hour later).
 */
export class WorkerPresence {
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: PresenceOptions) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(
      () =>
        this.beat().catch((err) => this.options.log.warn({ err: toError(err) }, 'worker heartbeat failed')),
      (this.options.aliveSeconds * 1000) / 3,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.options.db
      .query('delete from queue_workers where id = $1', [this.options.id])
      .catch((err) => this.options.log.warn({ err: toError(err) }, 'worker row not removed; it expires'));
  }

  private async beat(): Promise<void> {
    await this.options.db.query(
      `insert into queue_workers (id, hostname, pid, role, slots) values ($1, $2, $3, $4, $5)
       on conflict (id) do update set last_seen = now(), slots = excluded.slots`,
      [this.options.id, hostname(), process.pid, this.options.role, this.options.slots],
    );
    // Rows of processes that died long ago: nobody reads them any more.
    await this.options.db.query(`delete from queue_workers where last_seen < now() - interval '1 hour'`);
  }
}

/** Worker processes seen within `aliveSeconds`, and their slots, across the whole fleet. */
export async function liveWorkers(
  db: Queryable,
  aliveSeconds: number,
): Promise<{ processes: number; slots: number }> {
  const [row] = await db.query<{ processes: number; slots: number }>(
    `select count(*)::int as processes, coalesce(sum(slots), 0)::int as slots from queue_workers
     where last_seen > now() - make_interval(secs => $1)`,
    [aliveSeconds],
  );
  return { processes: row?.processes ?? 0, slots: row?.slots ?? 0 };
}

/**
 * The tasks a tenant can have running at once (an experiment's lanes): the slots of the workers
 * alive across the fleet, under the tenant's cap; null with no worker alive (the work waits for one,
 * as /health says).
 */
export async function tenantSlots(
  db: Queryable,
  queue: { leaseSeconds: number; tenantMaxRunning: number },
): Promise<number | null> {
  const { slots } = await liveWorkers(db, queue.leaseSeconds);
  if (slots === 0) return null;
  return queue.tenantMaxRunning > 0 ? Math.min(slots, queue.tenantMaxRunning) : slots;
}
