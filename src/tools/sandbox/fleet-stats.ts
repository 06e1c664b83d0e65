import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { toError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { PoolStats } from './pool.ts';

const PREFIX = 'agentry:fleet:pools:';
const COUNTS = ['ready', 'busy', 'preparing', 'waiting', 'created', 'destroyed', 'failed'] as const;

/** One pool type summed over the processes of the fleet that run it. */
export type FleetPoolStats = Record<(typeof COUNTS)[number], number> & {
  /** Processes whose stats are in the sum (their last report is under three intervals old). */
  processes: number;
  /** `redis`: every process that reports; `local`: this process alone (no Redis, or Redis is away). */
  source: 'redis' | 'local';
};

export interface FleetStatsOptions {
  /** Absent: a single process, whose own stats are the fleet's. */
  redis?: Redis;
  /** This process's pools, by type (pools turned off are left out). */
  local: () => Promise<PoolStats[]>;
  intervalMs: number;
  log: Logger;
}

/**
 * The warm sandbox pools are per process; their stats are fleet-wide. Each process writes its own
 * under one Redis key that expires after three intervals (a dead process drops out by itself), and
 * a reader sums the keys there are. Counts, not latencies: percentiles do not add up.
 */
export class FleetStats {
  private readonly key = `${PREFIX}${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: FleetStatsOptions) {}

  start(): void {
    if (!this.options.redis) return;
    const tick = () =>
      this.publish().catch((err) =>
        this.options.log.debug({ err: toError(err) }, 'pool stats not published'),
      );
    // Published as soon as the connection is up (and again after a reconnect), then every interval.
    this.options.redis.on('ready', tick);
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    // Leave the fleet's sum now rather than when the key expires.
    await this.options.redis?.del(this.key).catch(() => {});
  }

  async publish(): Promise<void> {
    const stats = await this.options.local();
    const ttl = Math.ceil((this.options.intervalMs * 3) / 1000);
    await this.options.redis?.set(this.key, JSON.stringify(stats), 'EX', ttl);
  }

  /** The sum over the fleet of the pool `type`. */
  async fleet(type: string): Promise<FleetPoolStats> {
    const redis = this.options.redis;
    if (redis) {
      try {
        await this.publish();
        const keys: string[] = [];
        // Bounded: one key per process of the fleet, read 100 at a time.
        let cursor = '0';
        for (let round = 0; round < 1000; round++) {
          const [next, found] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 100);
          keys.push(...found);
          cursor = next;
          if (cursor === '0') break;
        }
        const values = keys.length > 0 ? await redis.mget(...keys) : [];
        const reports = values.flatMap((v) => (v ? [JSON.parse(v) as PoolStats[]] : []));
        return sum(reports, type, 'redis');
      } catch (err) {
        this.options.log.warn(
          { err: toError(err) },
          'fleet pool stats unreadable; answering this process only',
        );
      }
    }
    return sum([await this.options.local()], type, 'local');
  }
}

function sum(reports: PoolStats[][], type: string, source: FleetPoolStats['source']): FleetPoolStats {
  const out: FleetPoolStats = {
    processes: 0,
    source,
    ...Object.fromEntries(COUNTS.map((c) => [c, 0])),
  } as FleetPoolStats;
  for (const report of reports) {
    const pool = report.find((p) => p.type === type);
    if (!pool) continue;
    out.processes++;
    for (const c of COUNTS) out[c] += pool[c];
  }
  return out;
}
