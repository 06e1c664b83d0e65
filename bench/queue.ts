/**
 * Task queue: Agentry against graphile-worker 0.17 on the same PostgreSQL, each on a fresh database.
 * Drain: N no-op tasks enqueued, then processed at concurrency 24 → tasks/s and worker CPU µs per
 * task. Latency: tasks enqueued one by one at 200/s after an unmeasured warm-up → enqueue-to-start
 * p50/p95/p99. Both in their documented fast configuration (local queues of 500, batched claims and
 * completions; worker.graphile.org/docs/performance), pools of concurrency + 1.
 *
 *   node --import tsx bench/queue.ts [--quick] [--drain 20000] [--latency 2000]     (DATABASE_URL)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freshDatabase } from '../test/helpers/server.ts';
import { benchApp, quantile } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    drain: { type: 'string' },
    latency: { type: 'string' },
  },
});
const DRAIN = Number(args.drain ?? (args.quick ? 2000 : 20_000));
const LATENCY_N = Number(args.latency ?? (args.quick ? 300 : 2000));
const RATE = 200;
const CONCURRENCY = 24;
const POOL = CONCURRENCY + 1;
const BASE = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Contender {
  /** Enqueues `n` no-op tasks in bulk (before workers start). */
  bulk(n: number): Promise<void>;
  /** Starts workers; `onStart` gets each task's payload as its handler starts. */
  start(onStart: (payload: { t?: number }) => void): Promise<void>;
  processed(): number;
  /** Enqueues one task now, as an API call would. */
  one(payload: { t: number }): Promise<void>;
  stop(): Promise<void>;
}

/** Enqueues `n` tasks at RATE/s, each on schedule (not after the last returned). */
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

async function measure(name: string, make: () => Promise<Contender>) {
  let c = await make();
  let drain = 0;
  let node_us_task = 0;
  try {
    for (let i = 0; i < DRAIN; i += 1000) await c.bulk(Math.min(1000, DRAIN - i));
    const [started, cpu0] = [performance.now(), process.cpuUsage()];
    await c.start(() => {});
    while (c.processed() < DRAIN) await sleep(2);
    drain = Math.round(DRAIN / ((performance.now() - started) / 1000));
    const cpu = process.cpuUsage(cpu0);
    node_us_task = Math.round((cpu.user + cpu.system) / DRAIN);
  } finally {
    await c.stop();
  }
  // Latency, on another fresh store, workers idle and waiting. The unmeasured warm-up holds the
  // slow first calls (unoptimised code, connections opened, statements prepared) of every contender.
  c = await make();
  const lat: number[] = [];
  try {
    await c.start((p) => p.t && lat.push(Date.now() - p.t));
    await sleep(500);
    await enqueueAtRate(c, Math.min(RATE, Math.ceil(LATENCY_N / 10)), () => 0);
    await sleep(200);
    await enqueueAtRate(c, LATENCY_N, () => Date.now());
    const until = Date.now() + 30_000;
    while (lat.length < LATENCY_N && Date.now() < until) await sleep(5);
  } finally {
    await c.stop();
  }
  const [p50, p95, p99] = [quantile(lat, 0.5), quantile(lat, 0.95), quantile(lat, 0.99)];
  return { name, drain, node_us_task, p50, p95, p99, seen: lat.length };
}

async function agentry(): Promise<Contender> {
  const { testConfig } = await import('../src/config/config.ts');
  const { newId } = await import('../src/db/ids.ts');
  const { enqueueMany, enqueueTask } = await import('../src/tasks/enqueue.ts');
  const { HandlerRegistry } = await import('../src/tasks/handlers.ts');
  const { Worker } = await import('../src/tasks/worker.ts');
  const { app, close } = await benchApp('postgres', {}, { poolMax: POOL, databaseUrl: BASE });
  const { db, bus, log } = app.services;
  const tenant = app.defaultTenantId;
  const task = { agent_id: newId(), task_type: 'noop', title: 'noop', priority: 0, payload: {} };
  const one = { ...task, tenant_id: tenant, description: '', max_attempts: 3 };
  const d = testConfig({}).tasks;
  let worker: InstanceType<typeof Worker> | undefined;
  return {
    bulk: async (n) => {
      await enqueueMany(
        db,
        tenant,
        Array.from({ length: n }, () => ({ ...task, id: newId() })),
      );
    },
    start: async (onStart) => {
      const handlers = new HandlerRegistry().setDefault(
        async (t) => void onStart(t.payload as { t?: number }),
      );
      worker = new Worker({
        db,
        bus,
        log,
        handlers,
        concurrency: CONCURRENCY,
        leaseSeconds: d.lease_seconds,
        pollSeconds: d.poll_seconds,
        claimBatch: 500,
        prefetch: 500 - CONCURRENCY,
        retryBaseSeconds: d.retry_base_seconds,
        retryCapSeconds: d.retry_cap_seconds,
        tenantMaxRunning: 0,
      });
      await worker.start();
    },
    processed: () => worker?.summary.completed ?? 0,
    one: async (payload) => {
      await enqueueTask(db, { ...one, id: newId(), payload });
    },
    stop: async () => {
      await worker?.stop(1000);
      await close();
    },
  };
}

async function graphile(): Promise<Contender> {
  const { run, makeWorkerUtils, runMigrations, Logger } = await import('graphile-worker');
  const fresh = await freshDatabase(BASE);
  // Our own pool, so its connections are closed before the database is dropped.
  const pgPool = new pg.Pool({ connectionString: fresh.url, max: POOL });
  pgPool.on('error', () => {});
  await runMigrations({ pgPool });
  const utils = await makeWorkerUtils({ pgPool });
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  let done = 0;
  return {
    bulk: (n) =>
      utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} }))).then(() => {}),
    start: async (onStart) => {
      runner = await run({
        pgPool,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        pollInterval: 2000,
        logger: new Logger(() => () => {}),
        taskList: {
          noop: async (p) => {
            onStart(p as { t?: number });
            done++;
          },
        },
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      });
    },
    processed: () => done,
    one: (payload) => utils.addJob('noop', payload).then(() => {}),
    stop: async () => {
      await runner?.stop();
      await utils.release();
      await pgPool.end();
      await fresh.drop();
    },
  };
}

process.stderr.write(
  `queue: drain ${DRAIN} tasks at concurrency ${CONCURRENCY}; latency ${LATENCY_N} at ${RATE}/s\n`,
);
const results = [await measure('agentry', agentry), await measure('graphile-worker', graphile)];
console.table(results);
const [ours, peer] = results as [(typeof results)[0], (typeof results)[0]];
const ratios = {
  drain_vs_graphile_worker: Math.round((ours.drain / peer.drain) * 100) / 100,
  p99_vs_graphile_worker: Math.round((ours.p99 / peer.p99) * 100) / 100,
};
console.log(`drain_vs_graphile_worker: ${ratios.drain_vs_graphile_worker}× (higher is better)`);
console.log(`p99_vs_graphile_worker: ${ratios.p99_vs_graphile_worker}× (lower is better)`);
console.log(
  JSON.stringify({ bench: 'queue', drain: DRAIN, latency_n: LATENCY_N, rate: RATE, results, ratios }),
);
process.exit(0);
