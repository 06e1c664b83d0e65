import pg from 'pg';
import { freshDatabase } from '../test/helpers/server.ts';
import { benchApp } from './bench-app.ts';

/** One queue under test, on a fresh database of its own; both are driven through these hooks. */
export interface Contender {
  name: string;
  /** The database's name, whose server processes the cost figures follow. */
  database: string;
  /** Enqueues `n` no-op tasks in bulk (before workers start). */
  bulk(n: number): Promise<void>;
  /** Opens every connection of the pool, so the measured work does not pay for opening them. */
  warm(): Promise<void>;
  /** Starts workers; `onStart` gets each task's payload as its handler starts. */
  start(onStart: (payload: { t?: number }) => void): Promise<void>;
  /** Handlers that have returned. */
  handled(): number;
  /** Whether the store still holds tasks not recorded as done (pending, or running). */
  unfinished(): Promise<boolean>;
  /** Enqueues one task now, as an API call would. */
  one(payload: { t: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface ContenderOptions {
  /** The server's URL; each contender makes a fresh database on it. */
  base: string;
  concurrency: number;
  /** Connections per contender: graphile-worker's documented `maxPoolSize`, concurrency + 1. */
  pool: number;
  /** Local queue size: claims (fetches) of up to this many tasks. */
  batch: number;
}

const databaseOf = (url: string) => new URL(url).pathname.slice(1);
const warmPool = (query: (sql: string) => Promise<unknown>, n: number) =>
  Promise.all(Array.from({ length: n }, () => query('select pg_sleep(0.05)'))).then(() => {});

/**
 * Agentry's worker with a no-op handler, with its metrics, as a worker process runs it. `delete`:
 * the tasks are of a type with `retention: delete` (their rows go when they succeed).
 */
export async function agentry(
  o: ContenderOptions,
  retention: 'keep' | 'delete' = 'keep',
): Promise<Contender> {
  const { testConfig } = await import('../src/config/config.ts');
  const { newId } = await import('../src/db/ids.ts');
  const { enqueueMany, enqueueTask } = await import('../src/tasks/enqueue.ts');
  const { HandlerRegistry } = await import('../src/tasks/handlers.ts');
  const { Worker } = await import('../src/tasks/worker.ts');
  const { app, close } = await benchApp('postgres', {}, { poolMax: o.pool, databaseUrl: o.base });
  const { bus, log } = app.services;
  const { db } = app;
  const tenant = app.defaultTenantId;
  const task = {
    agent_id: newId(),
    task_type: 'noop',
    title: 'noop',
    priority: 0,
    payload: {},
    delete_on_success: retention === 'delete',
  };
  const one = { ...task, tenant_id: tenant, description: '', max_attempts: 3 };
  const defaults = testConfig({}).tasks;
  const [row] = await db.query<{ db: string }>('select current_database() as db');
  let worker: InstanceType<typeof Worker> | undefined;
  let done = 0;
  return {
    name: retention === 'delete' ? 'agentry-delete' : 'agentry',
    database: row!.db,
    bulk: async (n) => {
      await enqueueMany(
        db,
        tenant,
        Array.from({ length: n }, () => ({ ...task, id: newId() })),
      );
    },
    warm: () => warmPool((sql) => db.query(sql), o.pool),
    start: async (onStart) => {
      const handlers = new HandlerRegistry().setDefault(async (t) => {
        onStart(t.payload as { t?: number });
        done++;
        return undefined;
      });
      worker = new Worker({
        db,
        bus,
        log,
        handlers,
        metrics: app.services.queueMetrics,
        concurrency: o.concurrency,
        leaseSeconds: defaults.lease_seconds,
        pollSeconds: defaults.poll_seconds,
        claimBatch: o.batch,
        prefetch: o.batch - o.concurrency,
        retryBaseSeconds: defaults.retry_base_seconds,
        retryCapSeconds: defaults.retry_cap_seconds,
        tenantMaxRunning: 0,
      });
      await worker.start();
    },
    handled: () => done,
    unfinished: async () =>
      (
        await db.query(
          `select 1 from tasks where status = 'pending' union all
           select 1 from tasks where status = 'in_progress' limit 1`,
        )
      ).length > 0,
    one: async (payload) => {
      await enqueueTask(db, { ...one, id: newId(), payload });
    },
    stop: async () => {
      await worker?.stop(1000);
      await close();
    },
  };
}

/** graphile-worker in its documented fast configuration (worker.graphile.org/docs/performance). */
export async function graphile(o: ContenderOptions): Promise<Contender> {
  const { run, makeWorkerUtils, runMigrations, Logger } = await import('graphile-worker');
  const fresh = await freshDatabase(o.base);
  // Our own pool, so its connections are closed before the database is dropped.
  const pgPool = new pg.Pool({ connectionString: fresh.url, max: o.pool });
  pgPool.on('error', () => {});
  await runMigrations({ pgPool });
  const utils = await makeWorkerUtils({ pgPool });
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  let done = 0;
  return {
    name: 'graphile-worker',
    database: databaseOf(fresh.url),
    bulk: (n) =>
      utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} }))).then(() => {}),
    warm: () => warmPool((sql) => pgPool.query(sql), o.pool),
    start: async (onStart) => {
      runner = await run({
        pgPool,
        concurrency: o.concurrency,
        noHandleSignals: true,
        pollInterval: 2000,
        logger: new Logger(() => () => {}),
        taskList: {
          noop: async (p) => {
            onStart(p as { t?: number });
            done++;
          },
        },
        preset: {
          worker: { localQueue: { size: o.batch }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
        },
      });
    },
    handled: () => done,
    // A completed job is deleted; a failed one would stay, and none fails here.
    unfinished: async () =>
      (await pgPool.query('select 1 from graphile_worker._private_jobs limit 1')).rowCount! > 0,
    one: (payload) => utils.addJob('noop', payload).then(() => {}),
    stop: async () => {
      await runner?.stop();
      await utils.release();
      await pgPool.end();
      await fresh.drop();
    },
  };
}
