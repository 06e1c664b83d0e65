import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type App, createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { newId } from '../../src/db/ids.ts';
import { enqueueMany } from '../../src/tasks/enqueue.ts';
import { freshDatabase, tsLoaderArgs } from '../helpers/server.ts';
import { eventually } from './helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));

/** Starts a real worker process and resolves once it is ready to claim. */
function startWorker(url: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...tsLoaderArgs, fixture], {
    env: { ...process.env, DATABASE_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

describe('queue reliability with real worker processes on PostgreSQL', {
  skip: !process.env.DATABASE_URL,
}, () => {
  let app: App;
  let url: string;
  let drop: () => Promise<void>;
  let agentId: string;
  const workers = new Set<ChildProcess>();

  const count = async (sql: string, params: unknown[] = []) =>
    (await app.db.query<{ n: number }>(sql, params))[0]!.n;
  const load = (n: number, title: string) =>
    enqueueMany(
      app.db,
      app.defaultTenantId,
      Array.from({ length: n }, (_, i) => ({
        id: newId(),
        agent_id: agentId,
        task_type: 'default',
        title: `${title}-${i}`,
        payload: {},
        priority: 0,
      })),
    );

  before(async () => {
    ({ url, drop } = await freshDatabase());
    // This process is the API side only: it migrates, enqueues and inspects; workers run apart.
    app = await createApp(
      testConfig({ log_level: 'silent', store: { database_url: url }, tasks: { workers: 0 } }),
    );
    await app.db.exec(
      'create table side_effects (task_id uuid not null, attempt int not null, pid int not null)',
    );
    agentId = newId();
  });

  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all([...workers].map(exited));
    await app.close();
    await drop();
  });

  it('loses nothing and runs no attempt twice while workers are SIGKILLed 10 times', async () => {
    const total = 2000;
    // ~100 ms per task at 3 × 8 slots: the run lasts several seconds, longer than the kill phase.
    const env = { WORKER_CONCURRENCY: '8', HANDLER_MIN_MS: '50', HANDLER_SPREAD_MS: '100' };
    await Promise.all([0, 1, 2].map(async () => workers.add(await startWorker(url, env))));
    await load(total, 'kill');
    await app.db.query(`update tasks set max_attempts = 25 where title like 'kill-%'`);

    const respawns: Promise<unknown>[] = [];
    for (let kills = 0; kills < 10; kills++) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 400));
      await eventually(async () => (workers.size > 0 ? true : undefined), 60_000, 'a live worker');
      const victims = [...workers];
      const victim = victims[Math.floor(Math.random() * victims.length)]!;
      victim.kill('SIGKILL');
      workers.delete(victim);
      // The replacement starts in the background: kills keep coming while it boots.
      respawns.push(startWorker(url, env).then((w) => workers.add(w)));
    }
    await Promise.all(respawns);
    await eventually(
      async () =>
        (await count(`select count(*)::int as n from tasks where status <> 'completed'`)) === 0
          ? true
          : undefined,
      120_000,
      'every task completed',
    );

    assert.equal(await count(`select count(*)::int as n from tasks where status = 'completed'`), total);
    assert.equal(await count(`select count(*)::int as n from tasks where status = 'in_progress'`), 0);
    // No attempt ran twice: at most one side effect per task and attempt.
    assert.equal(
      await count(
        `select count(*)::int as n from (select 1 from side_effects group by task_id, attempt having count(*) > 1) d`,
      ),
      0,
    );
    // Every task ran, and its completed attempt is the one whose side effect is recorded.
    assert.equal(await count('select count(distinct task_id)::int as n from side_effects'), total);
    assert.equal(
      await count(`select count(*)::int as n from tasks t
                   where not exists (select 1 from side_effects s where s.task_id = t.id and s.attempt = t.attempts)`),
      0,
    );
    // Completed exactly once: one completion event and one completed journal entry per task.
    assert.equal(
      await count(`select count(*)::int as n from (select stream_id from events where type = 'completed'
                   group by stream_id having count(*) <> 1) d`),
      0,
    );
    assert.equal(
      await count(
        `select count(*)::int as n from journal where action = 'task.attempt' and data->>'outcome' = 'completed'`,
      ),
      total,
    );
    const retried = await count('select count(*)::int as n from tasks where attempts > 1');
    assert.ok(retried > 0, 'some attempts were cut by the kills and ran again');
  });

  it('keeps working after its database connections, LISTEN included, are terminated', async () => {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all([...workers].map(exited));
    workers.clear();
    // A long fallback poll: after the kill, only the re-established LISTEN (and the claim it makes
    // on coming back, for what was notified while it was down) can wake the worker in time.
    const worker = await startWorker(url, {
      POLL_SECONDS: '600',
      WORKER_CONCURRENCY: '4',
      LEASE_SECONDS: '5',
      PGAPPNAME: 'agentry-test-worker',
    });
    workers.add(worker);
    // Each idle connection of this process's pool that the kill ended can fail one query before the
    // pool hears of it (57P01): such a query did nothing, so it is tried again.
    const againAfterKill = async <T>(fn: () => Promise<T>): Promise<T> => {
      for (let tries = 1; ; tries++) {
        try {
          return await fn();
        } catch (err) {
          if ((err as { code?: string }).code !== '57P01' || tries >= 10) throw err;
        }
      }
    };
    const unfinished = () =>
      againAfterKill(() => count(`select count(*)::int as n from tasks where status <> 'completed'`));
    const drained = (what: string) =>
      eventually(async () => ((await unfinished()) === 0 ? true : undefined), 90_000, what);
    await load(20, 'before');
    await drained('first batch');
    const admin = new pg.Client({ connectionString: url, application_name: 'agentry-test-admin' });
    await admin.connect();
    try {
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()
           and application_name <> 'agentry-test-admin' and backend_type = 'client backend'`,
      );
      assert.ok(killed.rowCount! >= 1);
      // Enqueued while the worker's LISTEN is (most likely) still down: its NOTIFY reaches no one.
      await againAfterKill(() => load(20, 'gap'));
      // The worker's own LISTEN, not this process's: only then does a NOTIFY reach it.
      await eventually(
        async () => {
          const r = await admin.query(
            `select count(*)::int as n from pg_stat_activity
             where datname = current_database() and application_name = 'agentry-test-worker'
               and query ilike 'listen %'`,
          );
          return r.rows[0].n > 0 ? true : undefined;
        },
        60_000,
        "the worker's LISTEN connection to come back",
      );
    } finally {
      await admin.end();
    }
    await drained('the batch enqueued while LISTEN was down');
    await load(20, 'after');
    // Well within the 600 s fallback poll: woken by NOTIFY on the re-established LISTEN connection.
    await drained('the batch enqueued after LISTEN came back');
  });

  it('hands tasks back on SIGTERM so another worker takes them without waiting for the lease', async () => {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all([...workers].map(exited));
    workers.clear();
    const slow = {
      HANDLER_MIN_MS: '60000',
      HANDLER_SPREAD_MS: '0',
      LEASE_SECONDS: '120',
      WORKER_CONCURRENCY: '2',
    };
    const first = await startWorker(url, slow);
    workers.add(first);
    await load(2, 'handback');
    await eventually(
      async () =>
        (await count(`select count(*)::int as n from tasks where status = 'in_progress'`)) === 2
          ? true
          : undefined,
      20_000,
      'both running',
    );
    first.kill('SIGTERM');
    await exited(first);
    workers.delete(first);
    assert.equal(await count(`select count(*)::int as n from tasks where status = 'in_progress'`), 0);
    assert.equal(
      await count(
        `select count(*)::int as n from tasks where title like 'handback-%' and status = 'pending' and lease_owner is null`,
      ),
      2,
      'handed back at once, not left to a 120 s lease',
    );
    await app.db.query(`update tasks set status = 'cancelled' where title like 'handback-%'`);
  });
});
