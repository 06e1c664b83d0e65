import { readFileSync } from 'node:fs';
import pg from 'pg';

// What a piece of work costs PostgreSQL, in figures the machine's load moves little: statements
// sent, CPU of the server processes that served them, WAL written. A benchmark on a shared machine
// reads these beside its rates, which the load moves a lot.

let sent = 0;
const uncounted = new WeakSet<object>();
let patched = false;

/**
 * Counts, from now on, the statements every `pg` client of this process sends (pools included: they
 * query through their clients), into every `Reading`; `begin` and `commit` count, each a round trip.
 */
export function countStatements(): void {
  if (!patched) {
    patched = true;
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (!uncounted.has(this)) sent++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  }
}

/** A connection to the server for reading its figures, whose own statements are not counted. */
export async function costReader(url: string): Promise<CostReader> {
  const client = new pg.Client({ connectionString: url });
  uncounted.add(client);
  await client.connect();
  return new CostReader(client);
}

export interface Costs {
  statements: number;
  /** CPU ms of the server processes connected to the database; NaN when the server is not local. */
  backendMs: number;
  walBytes: number;
}

export class CostReader {
  constructor(private readonly client: pg.Client) {}

  /**
   * A reading now for `database`. Backends are followed by pid: one that opens between two readings
   * counts from zero, one that closes between them is lost (pools stay open while measured).
   */
  async read(database: string): Promise<Reading> {
    const { rows } = await this.client.query<{ pid: number; wal: string }>(
      `select a.pid, pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint::text as wal
       from (select 1) one left join pg_stat_activity a on a.datname = $1`,
      [database],
    );
    const cpu = new Map<number, number>();
    for (const r of rows) if (r.pid) cpu.set(r.pid, backendCpu(r.pid));
    return { statements: sent, cpu, wal: Number(rows[0]?.wal ?? Number.NaN) };
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

export interface Reading {
  statements: number;
  cpu: Map<number, number>;
  wal: number;
}

/** What happened between two readings of the same database. */
export function costsBetween(before: Reading, after: Reading): Costs {
  let backendMs = 0;
  for (const [pid, ms] of after.cpu) backendMs += ms - (before.cpu.get(pid) ?? 0);
  return {
    statements: after.statements - before.statements,
    backendMs,
    walBytes: after.wal - before.wal,
  };
}

/** CPU ms a process has run, to the nanosecond (/proc/PID/schedstat; its stat counts 10 ms ticks). */
function backendCpu(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN; // not on this machine, or gone
  }
}
