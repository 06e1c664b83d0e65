import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type App, type CreateAppOptions, createApp } from '../../src/app.ts';
import { type ConfigInput, testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { memoryStore, testNodeFlags } from './pglite-snapshot.ts';

export type StoreKind = 'pglite' | 'postgres';

/** Node flags for a child process that runs Agentry's sources as `agentry` itself does. */
export const tsLoaderArgs = [
  ...testNodeFlags,
  '--import',
  fileURLToPath(new URL('../../bin/ts-loader.js', import.meta.url)),
];

/**
 * The stores every integration suite runs against: PGlite always, PostgreSQL when DATABASE_URL is
 * set (CI sets it and requires it; see .ci/run).
 */
export const stores: StoreKind[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/** A fresh, empty PostgreSQL database on the DATABASE_URL server; dropped by the returned function. */
export async function freshDatabase(
  base = process.env.DATABASE_URL,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!base) throw new Error('DATABASE_URL is not set');
  // pg is loaded by the PostgreSQL suites only, as the app loads it only for a PostgreSQL store.
  const { default: pg } = await import('pg');
  const name = `agentry_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestServer {
  app: App;
  url: string;
  adminKey: string;
  store: StoreKind;
  /** Sends a request with the admin key (or `key`), JSON in and out. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  /** An API key; `null` sends no credentials at all. Defaults to the admin key. */
  key?: string | null;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  body: any;
  text: string;
}

/**
 * Boots the real server on a random loopback port with a fresh store of the given kind; `options`
 * may stand in a fake internet for the guarded outbound client (test/helpers/internet.ts).
 */
export async function startServer(
  store: StoreKind,
  overrides: ConfigInput = {},
  options: Pick<CreateAppOptions, 'network'> = {},
): Promise<TestServer> {
  let drop = async () => {};
  // From the run's migrated snapshot when scripts/test.mjs made one: initdb and migrations cost ~2 s a server.
  let storeConfig: ConfigInput['store'] = memoryStore();
  if (store === 'postgres') {
    const db = await freshDatabase();
    drop = db.drop;
    storeConfig = { database_url: db.url, pool_max: 5 };
  }
  // Warm sandbox pools cost a bubblewrap start per slot: only suites that use the sandbox ask for them.
  const asked = overrides.sandbox ?? { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } };
  // A sandbox can take many seconds to prepare on a loaded machine: a test waits for one as long as
  // it takes, not the product's 5 s, so no verdict depends on the machine's speed. A test of the
  // wait itself sets its own.
  const patient = { acquire_timeout_ms: 120_000 };
  const sandbox = {
    ...asked,
    pools: {
      ...asked.pools,
      bwrap: { ...patient, ...asked.pools?.bwrap },
      quickjs: { ...patient, ...asked.pools?.quickjs },
    },
  };
  // The operations team is seeded on a fresh install; suites that count agents start without it.
  const config = testConfig({
    log_level: (process.env.AGENTRY_TEST_LOG as never) ?? 'silent',
    ops_team: { seed: false },
    ...overrides,
    sandbox,
    store: { ...storeConfig, ...overrides.store },
  });
  const app = await createApp(config, {
    ...options,
    log: createLogger(process.env.AGENTRY_TEST_LOG ?? 'silent'),
  });
  const address = await app.http.listen({ host: '127.0.0.1', port: 0 });
  if (!app.adminKey) throw new Error('a fresh store must create an admin key');
  const adminKey = app.adminKey;

  const request = async (
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? adminKey : options.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${address}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    app,
    url: address,
    adminKey,
    store,
    request,
    close: async () => {
      await app.close();
      await drop();
    },
  };
}
