import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../src/app.ts';
import type { ConfigInput } from '../src/config/config.ts';

// What the benchmarks share. The app's modules load only when an app is built, so child
// processes that never build one do not pay for them.

/** Node flags for a child that runs Agentry's sources as `npm start` does (bin/agentry.js). */
export const tsLoaderArgs = ['--import', fileURLToPath(new URL('../bin/ts-loader.js', import.meta.url))];

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
export const r3 = (x: number) => Math.round(x * 1000) / 1000;
export const p50p99 = (xs: number[]) => ({ p50: r3(quantile(xs, 0.5)), p99: r3(quantile(xs, 0.99)) });

/** Milliseconds of each of `n` sequential calls. */
export async function timeEach(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Forks `script` with `args` and resolves with the first message the child sends (its URL, key…). */
export async function forkChild<M>(
  script: string,
  args: string[],
  opts: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ child: ChildProcess } & M> {
  const child = fork(fileURLToPath(script), args, {
    // BENCH_CHILD_ARGS adds node flags to every child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    execArgv: [
      ...tsLoaderArgs,
      ...(opts.execArgv ?? []),
      ...(process.env.BENCH_CHILD_ARGS?.split(' ') ?? []),
    ],
    env: opts.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [msg] = (await once(child, 'message')) as [M];
  return { child, ...msg };
}

/** CPU ms (user + system) a process has used, from /proc; `children` adds its reaped children's. */
export function cpuMs(pid: number | string | undefined, children = false): number {
  if (!pid) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) * 10;
}

/** A server child stopped with SIGTERM runs `close` first, so its fresh database is dropped. */
export function closeOnTerm(close: () => Promise<void>): void {
  process.once('SIGTERM', () => {
    setTimeout(() => process.exit(1), 10_000).unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/** The embedded store on the event loop, in its own thread (`store.pglite_thread`), or PostgreSQL. */
export type BenchStore = 'pglite' | 'pglite-thread' | 'postgres';

/**
 * An app with no task workers on PGlite in memory, or on a fresh PostgreSQL database (on
 * `databaseUrl`'s server, DATABASE_URL by default) that `close` drops.
 */
export async function benchApp(
  store: BenchStore,
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
      store: pg
        ? { database_url: pg.url, pool_max: poolMax }
        : { data_dir: 'memory://', pglite_thread: store === 'pglite-thread' },
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

/** Serves a bench app (in a forked child) and reports its URL and admin key to the parent. */
export async function serveBenchApp(
  store: BenchStore,
  overrides: ConfigInput = {},
  configure: (app: App) => void = () => {},
): Promise<void> {
  const { app, close } = await benchApp(store, overrides);
  configure(app);
  closeOnTerm(close);
  process.send?.({ url: await app.http.listen({ host: '127.0.0.1', port: 0 }), key: app.adminKey });
}

type AgentBody = Parameters<App['services']['agents']['create']>[1];
export const callerOf = (app: App) => ({ tenantId: app.defaultTenantId, tenantName: 'default' });
export const agentOf = (app: App, body: AgentBody) =>
  app.services.agents.create(app.defaultTenantId, body, { tenantId: app.defaultTenantId, actor: 'bench' });
export const turnOpts = (message: string, stream = false) =>
  ({ message, stream, multitask: 'reject', on_disconnect: 'continue' }) as const;

/** One chat turn in process; throws unless it completed. */
export async function turn(app: App, agentId: string, message: string): Promise<void> {
  const r = await (await app.services.runtime.run(callerOf(app), agentId, turnOpts(message))).result();
  if (r.status !== 'completed') throw new Error(`turn ${r.status}`);
}

/**
 * `agentry serve` as a user starts it (bin/agentry.js, the embedded store in `work`, a port of its
 * own), for benchmarks that watch the whole process: its URL and admin key once it has printed them.
 */
export function spawnServe(work: string): Promise<{ child: ChildProcess; url: string; key: string }> {
  const bin = fileURLToPath(new URL('../bin/agentry.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    cwd: work,
    env: {
      ...process.env,
      AGENTRY_LOG_LEVEL: 'warn',
      AGENTRY_SEED_OPS_TEAM: 'false',
      AGENTRY_CREDENTIALS_FILE: path.join(work, 'credentials.json'),
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const url = /agentry listening on (\S+)/.exec(err)?.[1];
      const key = /(agk_[A-Za-z0-9]+_[A-Za-z0-9_-]+)/.exec(err)?.[1];
      if (url && key) resolve({ child, url, key });
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err.slice(-2000)}`)));
  });
}

/**
 * Where a streamed chat goes on a forked server: on Agentry (it sent a key) an agent's chat, the agent
 * created here; on a floor (no key) `floorPath`.
 */
export async function chatTarget(
  s: { url: string; key?: string },
  agentName: string,
  floorPath: string,
): Promise<{ headers: Record<string, string>; path: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (!s.key) return { headers, path: floorPath };
  headers.authorization = `Bearer ${s.key}`;
  const res = await fetch(`${s.url}/v1/agents`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: agentName }),
  });
  return { headers, path: `/v1/agents/${((await res.json()) as { id: string }).id}/chat` };
}

/** A process's resident set in MB (this machine's /proc). */
export const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;
