import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { App } from '../src/app.ts';
import type { ConfigInput } from '../src/config/config.ts';

/**
 * What the in-process benchmarks share. The app's modules are imported when an app is built, so
 * a benchmark's child processes that never build one do not load them.
 */

/** Node flags for a child process that runs Agentry's sources as `npm start` does (bin/agentry.js). */
export const tsLoaderArgs = ['--import', fileURLToPath(new URL('../bin/ts-loader.js', import.meta.url))];

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
export const r3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc; with `children`, also
 * that of its exited children it has waited for (a PostgreSQL postmaster's ended backends).
 */
export function cpuMs(pid: number | string | undefined, children = false): number {
  if (!pid) return 0;
  // Fields after the command name (which may contain spaces): utime, stime, cutime, cstime are the 12th to 15th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks =
    Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks * 1000) / 100;
}

/** Store statements sent so far (each statement of a transaction counts), once `countStatements` ran. */
export const counted = { statements: 0 };

/** Counts every statement the app's store runs: a figure a busy machine does not move. */
export function countStatements(db: {
  query: (...a: never[]) => Promise<unknown>;
  exec: (...a: never[]) => Promise<unknown>;
  transaction: (fn: (tx: never) => Promise<unknown>) => Promise<unknown>;
}): void {
  const wrap = <T extends { query: unknown; exec: unknown }>(target: T): T => {
    for (const m of ['query', 'exec'] as const) {
      const original = (target[m] as (...a: unknown[]) => Promise<unknown>).bind(target);
      (target as Record<string, unknown>)[m] = (...a: unknown[]) => {
        counted.statements += 1;
        return original(...a);
      };
    }
    return target;
  };
  wrap(db);
  const transaction = db.transaction.bind(db);
  db.transaction = (fn) => transaction((tx) => fn(wrap(tx as { query: unknown; exec: unknown }) as never));
}

/**
 * For a benchmark's server process, which its parent stops with SIGTERM: runs `close` first (a
 * fresh PostgreSQL database is dropped) rather than leave a database behind on every run.
 */
export function closeOnTerm(close: () => Promise<void>): void {
  process.once('SIGTERM', () => {
    setTimeout(() => process.exit(1), 10_000).unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/**
 * An app with no task workers on PGlite in memory, or on a fresh PostgreSQL database (on
 * `databaseUrl`'s server, DATABASE_URL by default) that `close` drops. `overrides` replace
 * top-level config sections.
 */
export async function benchApp(
  store: 'pglite' | 'postgres',
  overrides: ConfigInput = {},
  { poolMax = 10, databaseUrl }: { poolMax?: number; databaseUrl?: string } = {},
): Promise<{ app: App; close: () => Promise<void> }> {
  const { createApp } = await import('../src/app.ts');
  const { testConfig } = await import('../src/config/config.ts');
  const { freshDatabase } = await import('../test/helpers/server.ts');
  const pg = store === 'postgres' ? await freshDatabase(databaseUrl) : undefined;
  const app = await createApp(
    testConfig({
      log_level: 'silent',
      store: pg ? { database_url: pg.url, pool_max: poolMax } : { data_dir: 'memory://' },
      tasks: { workers: 0 },
      runtime: { workspaces_dir: '/tmp/agentry-bench-ws' },
      ...overrides,
    }),
  );
  return {
    app,
    close: async () => {
      await app.close();
      await pg?.drop();
    },
  };
}
