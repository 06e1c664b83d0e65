/**
 * Task queue benchmark: Agentry's queue against graphile-worker and pg-boss on the same
 * PostgreSQL, in one run, each contender on a fresh database; plus Agentry on PGlite.
 *
 *  - drain: N no-op tasks enqueued first, then processed with concurrency 24 → tasks/s
 *    (Agentry counts a task when its completion is written; the peers when their handler returns).
 *  - latency: tasks enqueued one by one at a fixed rate (200/s) → enqueue-to-start p50/p95/p99,
 *    after an unmeasured warm-up of about a second at the same rate.
 *  - cost of the drain per task: CPU µs of this process (the contender's workers) and of every
 *    PostgreSQL process (from /proc), and bytes of WAL written. The WAL figure is deterministic and
 *    the CPU figures move little with noise, unlike the rates, on a shared 2-core machine; both are
 *    server-wide, so run the bench alone.
 *
 * Agentry runs with a local queue of the same size as graphile-worker's (`claim_batch` 500,
 * `prefetch` 476) and no per-tenant cap (one tenant). Peers run in their best documented configuration:
 *  - graphile-worker 0.17: the configuration of its performance page (worker.graphile.org/docs/
 *    performance): `localQueue.size = 500` (batch fetch), `completeJobBatchDelay` and
 *    `failJobBatchDelay` = 0 (batched completion), a pool of concurrency + 1 connections,
 *    LISTEN/NOTIFY wake-up (built in).
 *  - pg-boss 10: `batchSize` = concurrency (batch fetch), the minimum polling interval (0.5 s) and
 *    `notifyWorker()` after each send, its documented in-process wake-up (v10 has no LISTEN).
 *
 *   node --import tsx bench/queue.ts [--quick] [--drain 20000] [--latency 2000] [--rate 200]
 *     [--only agentry-pg,graphile,pgboss,agentry-pglite]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (the default when unset)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freshDatabase } from '../test/helpers/server.ts';
import { benchApp, cpuMs } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    drain: { type: 'string' },
    latency: { type: 'string' },
    rate: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '24' },
    only: { type: 'string' },
  },
});
const DRAIN = Number(args.drain ?? (args.quick ? 2000 : 20_000));
const LATENCY_N = Number(args.latency ?? (args.quick ? 300 : 2000));
const RATE = Number(args.rate);
/** Tasks enqueued at the latency rate before the measured ones, not counted (about a second's worth). */
const WARMUP = Math.min(RATE, Math.ceil(LATENCY_N / 10));
const CONCURRENCY = Number(args.concurrency);
const BASE = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Connections per contender: graphile-worker's documented `maxPoolSize` for concurrency 24. */
const POOL = CONCURRENCY + 1;

interface Result {
  name: string;
  drain_tasks_per_s: number;
  /** CPU µs per task during the drain: this process (the contender's workers), PostgreSQL's processes. */
  node_us_task: number;
  pg_us_task: number;
  /** PostgreSQL WAL bytes written per task during the drain (the server's whole WAL: run alone). */
  wal_bytes_task: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

/** A contender: prepares a fresh store, then runs both measurements through these hooks. */
interface Contender {
  name: string;
  /** Enqueues `n` no-op tasks in bulk (before workers start). */
  bulk(n: number): Promise<void>;
  /** Starts workers; `onStart` is called with each task's payload as its handler starts. */
  start(onStart: (payload: { t?: number }) => void): Promise<void>;
  /** Resolves when `n` tasks have been processed since start (completion written where known). */
  processed(): number;
  /** Enqueues one task now, as an API call would. */
  one(payload: { t: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * CPU time (ms) of every PostgreSQL server process on this machine, from /proc (0 where /proc or
 * the server is not local). Includes exited backends through the postmaster's reaped-children time.
 */
function pgCpuMs(): number {
  let ms = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ms += cpuMs(pid, true);
    } catch {
      // the process exited between the listing and the read
    }
  }
  return ms;
}

/** The server's WAL insert position in bytes: the difference over a run is the WAL it wrote. */
async function walBytes(): Promise<number> {
  const client = new pg.Client({ connectionString: BASE });
  await client.connect();
  try {
    const { rows } = await client.query<{ b: string }>(
      `select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint::text as b`,
    );
    return Number(rows[0]!.b);
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Enqueues `n` tasks one by one at `RATE`/s (each on schedule, not after the last returned); `t` stamps each. */
async function enqueueAtRate(c: Contender, n: number, t: () => number): Promise<void> {
  const begin = Date.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = begin + (i * 1000) / RATE - Date.now();
    if (wait > 0) await sleep(wait);
    sends.push(c.one({ t: t() }));
  }
  await Promise.all(sends);
}

async function measure(make: () => Promise<Contender>): Promise<Result> {
  // Drain, on its own fresh store.
  let c = await make();
  const name = c.name;
  let drain = 0;
  let nodeUs = 0;
  let pgUs = 0;
  let walPerTask = Number.NaN;
  try {
    for (let i = 0; i < DRAIN; i += 1000) await c.bulk(Math.min(1000, DRAIN - i));
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const pg0 = pgCpuMs();
    const wal0 = await walBytes();
    await c.start(() => {});
    while (c.processed() < DRAIN) await sleep(2);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    nodeUs = (cpu.user + cpu.system) / DRAIN;
    // PGlite runs inside this process: its work is in the node figure, not the server's.
    pgUs = name.includes('pglite') ? Number.NaN : ((pgCpuMs() - pg0) * 1000) / DRAIN;
    drain = DRAIN / seconds;
    // PGlite writes no WAL to this server: its figure would be other processes' writes.
    walPerTask = name.includes('pglite') ? Number.NaN : ((await walBytes()) - wal0) / DRAIN;
  } finally {
    await c.stop();
  }
  process.stderr.write(
    `  ${name}: drain ${drain.toFixed(0)} tasks/s, CPU per task: node ${nodeUs.toFixed(0)} µs, postgres ${pgUs.toFixed(0)} µs, WAL ${walPerTask.toFixed(0)} bytes\n`,
  );
  // Latency, on another fresh store, workers idle and waiting.
  c = await make();
  const lat: number[] = [];
  try {
    await c.start((p) => {
      if (p.t) lat.push(Date.now() - p.t);
    });
    await sleep(500);
    // Unmeasured warm-up at the same rate (t: 0 is not recorded), as bench/gateway.ts and
    // bench/memory.ts do: a just-started process runs its first calls unoptimised and opens pool
    // connections and prepares statements on them, and those first hundreds of milliseconds held
    // most of the slow starts of a 2,000-task run, for every contender.
    await enqueueAtRate(c, WARMUP, () => 0);
    await sleep(200);
    await enqueueAtRate(c, LATENCY_N, () => Date.now());
    const until = Date.now() + 30_000;
    while (lat.length < LATENCY_N && Date.now() < until) await sleep(5);
  } finally {
    await c.stop();
  }
  const sorted = lat.sort((a, b) => a - b);
  const r = {
    name,
    drain_tasks_per_s: Math.round(drain),
    node_us_task: Math.round(nodeUs),
    pg_us_task: Math.round(pgUs),
    wal_bytes_task: Math.round(walPerTask),
    p50_ms: pct(sorted, 50),
    p95_ms: pct(sorted, 95),
    p99_ms: pct(sorted, 99),
  };
  process.stderr.write(
    `  ${name}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms (${lat.length}/${LATENCY_N} seen)\n`,
  );
  return r;
}

// ---- Agentry

async function agentry(kind: 'postgres' | 'pglite'): Promise<Contender> {
  const { testConfig } = await import('../src/config/config.ts');
  const { newId } = await import('../src/db/ids.ts');
  const { enqueueMany, enqueueTask } = await import('../src/tasks/enqueue.ts');
  const { HandlerRegistry } = await import('../src/tasks/handlers.ts');
  const { Worker } = await import('../src/tasks/worker.ts');
  const { app, close } = await benchApp(kind, {}, { poolMax: POOL, databaseUrl: BASE });
  const { db, bus, log } = app.services;
  const tenant = app.defaultTenantId;
  const agentId = newId();
  const defaults = testConfig({}).tasks;
  let worker: InstanceType<typeof Worker> | undefined;
  return {
    name: `agentry (${kind})`,
    bulk: async (n) => {
      await enqueueMany(
        db,
        tenant,
        Array.from({ length: n }, () => ({
          id: newId(),
          agent_id: agentId,
          task_type: 'noop',
          title: 'noop',
          payload: {},
          priority: 0,
        })),
      );
    },
    start: async (onStart) => {
      const handlers = new HandlerRegistry().setDefault(async (task) => {
        onStart(task.payload as { t?: number });
        return undefined;
      });
      worker = new Worker({
        db,
        bus,
        log,
        handlers,
        concurrency: CONCURRENCY,
        leaseSeconds: defaults.lease_seconds,
        pollSeconds: defaults.poll_seconds,
        // The counterpart of graphile-worker's `localQueue.size = 500` below: up to 500 tasks leased
        // locally (running or waiting for a slot), claimed in batches of up to 500.
        claimBatch: 500,
        prefetch: 500 - CONCURRENCY,
        retryBaseSeconds: defaults.retry_base_seconds,
        retryCapSeconds: defaults.retry_cap_seconds,
        // One tenant, and the peers have no per-tenant cap: off (0), as `tasks.tenant_max_running: 0`
        // sets it. With the default cap (100) the local queue could hold only 76 more.
        tenantMaxRunning: 0,
      });
      await worker.start();
    },
    processed: () => worker?.summary.completed ?? 0,
    one: async (payload) => {
      await enqueueTask(db, {
        id: newId(),
        tenant_id: tenant,
        agent_id: agentId,
        task_type: 'noop',
        title: 'noop',
        description: '',
        payload,
        priority: 0,
        max_attempts: 3,
      });
    },
    stop: async () => {
      await worker?.stop(1000);
      await close();
    },
  };
}

// ---- graphile-worker

async function graphile(): Promise<Contender> {
  const { run, makeWorkerUtils, runMigrations } = await import('graphile-worker');
  const fresh = await freshDatabase(BASE);
  // Our own pool, so its connections are closed (and their errors heard) before the database is dropped.
  const pgPool = new pg.Pool({ connectionString: fresh.url, max: POOL });
  pgPool.on('error', () => {});
  const options = { pgPool };
  await runMigrations(options);
  const utils = await makeWorkerUtils(options);
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  let done = 0;
  return {
    name: 'graphile-worker',
    bulk: async (n) => {
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
    },
    start: async (onStart) => {
      runner = await run({
        ...options,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        pollInterval: 2000,
        logger: new (await import('graphile-worker')).Logger(() => () => {}),
        taskList: {
          noop: async (payload) => {
            onStart(payload as { t?: number });
            done++;
          },
        },
        preset: {
          worker: {
            localQueue: { size: 500 },
            completeJobBatchDelay: 0,
            failJobBatchDelay: 0,
          },
        },
      });
    },
    processed: () => done,
    one: async (payload) => {
      await utils.addJob('noop', payload);
    },
    stop: async () => {
      await runner?.stop();
      await utils.release();
      await pgPool.end();
      await fresh.drop();
    },
  };
}

// ---- pg-boss

async function pgBoss(): Promise<Contender> {
  const { default: PgBoss } = await import('pg-boss');
  const fresh = await freshDatabase(BASE);
  const boss = new PgBoss({ connectionString: fresh.url, max: POOL, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('noop');
  let done = 0;
  let workerId: string | undefined;
  return {
    name: 'pg-boss',
    bulk: async (n) => {
      await boss.insert(Array.from({ length: n }, () => ({ name: 'noop', data: {} })));
    },
    start: async (onStart) => {
      workerId = await boss.work<{ t?: number }>(
        'noop',
        { batchSize: CONCURRENCY, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          await Promise.all(
            jobs.map(async (job) => {
              onStart(job.data);
              done++;
            }),
          );
        },
      );
    },
    processed: () => done,
    one: async (payload) => {
      await boss.send('noop', payload);
      if (workerId) boss.notifyWorker(workerId);
    },
    stop: async () => {
      await boss.stop({ graceful: true, wait: true, timeout: 5000 });
      await fresh.drop();
    },
  };
}

const contenders: Array<[string, () => Promise<Contender>]> = [
  ['agentry-pg', () => agentry('postgres')],
  ['graphile', graphile],
  ['pgboss', pgBoss],
  ['agentry-pglite', () => agentry('pglite')],
];

process.stderr.write(
  `queue benchmark: drain ${DRAIN} no-op tasks at concurrency ${CONCURRENCY}; latency ${LATENCY_N} tasks at ${RATE}/s\n`,
);
const results: Result[] = [];
for (const [key, make] of contenders) {
  if (args.only && !args.only.split(',').includes(key)) continue;
  process.stderr.write(`${key}…\n`);
  results.push(await measure(make));
}

const by = (n: string) => results.find((r) => r.name === n);
const ours = by('agentry (postgres)');
const ratios: Record<string, number> = {};
for (const peer of ['graphile-worker', 'pg-boss']) {
  const p = by(peer);
  if (!ours || !p) continue;
  const key = peer.replace('-', '_');
  ratios[`drain_vs_${key}`] = Math.round((ours.drain_tasks_per_s / p.drain_tasks_per_s) * 100) / 100;
  ratios[`p99_vs_${key}`] = Math.round((ours.p99_ms / p.p99_ms) * 100) / 100;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const orDash = (v: number) => (Number.isNaN(v) ? '-' : v);
console.log(
  `\n${'contender'.padEnd(22)}${pad('drain/s', 10)}${pad('node µs', 9)}${pad('pg µs', 9)}${pad('WAL B', 9)}${pad('p50 ms', 9)}${pad('p95 ms', 9)}${pad('p99 ms', 9)}`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(22)}${pad(r.drain_tasks_per_s, 10)}${pad(r.node_us_task, 9)}${pad(orDash(r.pg_us_task), 9)}${pad(orDash(r.wal_bytes_task), 9)}${pad(r.p50_ms, 9)}${pad(r.p95_ms, 9)}${pad(r.p99_ms, 9)}`,
  );
}
for (const [k, v] of Object.entries(ratios)) {
  console.log(`${k}: ${v}${k.startsWith('drain') ? '× (higher is better)' : '× (lower is better)'}`);
}
console.log(
  JSON.stringify({
    bench: 'queue',
    drain: DRAIN,
    latency_n: LATENCY_N,
    rate: RATE,
    concurrency: CONCURRENCY,
    results,
    ratios,
  }),
);
process.exit(0);
