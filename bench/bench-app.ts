import type { App } from '../src/app.ts';
import type { ConfigInput } from '../src/config/config.ts';

/**
 * What the in-process benchmarks share. The app's modules are imported when an app is built, so
 * a benchmark's child processes that never build one do not load them.
 */

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
export const r3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * An app with no task workers on PGlite in memory, or on a fresh PostgreSQL database on
 * DATABASE_URL that `close` drops. `overrides` replace top-level config sections.
 */
export async function benchApp(
  store: 'pglite' | 'postgres',
  overrides: ConfigInput = {},
): Promise<{ app: App; close: () => Promise<void> }> {
  const { createApp } = await import('../src/app.ts');
  const { testConfig } = await import('../src/config/config.ts');
  const { freshDatabase } = await import('../test/helpers/server.ts');
  const pg = store === 'postgres' ? await freshDatabase() : undefined;
  const app = await createApp(
    testConfig({
      log_level: 'silent',
      store: pg ? { database_url: pg.url, pool_max: 10 } : { data_dir: 'memory://' },
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
