import { randomBytes } from 'node:crypto';
import { ASYNC_COMMIT, type Queryable } from '../db/db.ts';
import type { TaskRow } from './rows.ts';

/** The channel workers LISTEN on. The payload is the earliest `run_at` of the batch, in epoch ms (see `parseWake`). */
export const TASKS_CHANNEL = 'agentry_tasks';

export interface NewTask {
  id: string;
  tenant_id: string;
  agent_id: string;
  /** The agent version pinned by the request (absent: the latest when the task starts). */
  agent_version?: number | null;
  task_type: string;
  title: string;
  description: string;
  payload: unknown;
  priority: number;
  /** Absent: now (the database's clock, so all processes agree). */
  run_at?: Date;
  /** Seconds from now; used when run_at is absent. */
  delay_seconds?: number;
  max_attempts: number;
  idempotency_key?: string | null;
  callback_url?: string | null;
  parent_task_id?: string | null;
  session_id?: string | null;
  created_by?: string | null;
  /** The enqueuing request's trace context (W3C), continued by the worker that runs the task. */
  traceparent?: string | null;
  /** The enqueuing request's `tracestate`, passed on with the trace. */
  tracestate?: string | null;
  /** Run by an external worker of this name, which reports by callback: never claimed here. */
  external?: string | null;
  /** Its task type's `retention: delete`: deleted when it succeeds, and no `created`/`started` events. */
  delete_on_success?: boolean;
}

/**
 * Workers of this process, by store (`Db` object): an enqueue made through the store itself (not
 * inside a caller's transaction) wakes them as soon as its statement returns, committed, instead of
 * a NOTIFY round trip later. The NOTIFY still goes out for other processes, tagged with the store's
 * token, so these workers skip its echo rather than claim twice.
 */
interface LocalWorkers {
  token: string;
  wake: Set<(runAtMs: number) => void>;
}
const localWorkers = new WeakMap<object, LocalWorkers>();

/** Registers a worker of this process for direct wake-ups on `db`; returns the token its NOTIFYs carry. */
export function listenLocally(
  db: object,
  wake: (runAtMs: number) => void,
): { token: string; stop: () => void } {
  let here = localWorkers.get(db);
  if (!here) {
    here = { token: randomBytes(6).toString('hex'), wake: new Set() };
    localWorkers.set(db, here);
  }
  here.wake.add(wake);
  const set = here.wake;
  return { token: here.token, stop: () => set.delete(wake) };
}

/** A TASKS_CHANNEL payload: the earliest run_at (epoch ms), and the local token when it has one. */
export function parseWake(payload: string): { at: number; token?: string } {
  const [at, token] = payload.split(':');
  return { at: Number(at), token };
}

/**
 * Wakes the workers: those of this process at once (see `listenLocally`), the others by NOTIFY, in a
 * transaction of its own with `synchronous_commit` off, after the enqueue committed. Not inside the
 * enqueue: PostgreSQL serialises every committing transaction that sent a NOTIFY (one lock per
 * database, held until the commit is flushed), so a NOTIFY in a synchronous enqueue holds that lock
 * for a WAL flush, and claims and completions (which announce their streams) queue behind it: under
 * a slow disk, enqueue-to-start latency grew to seconds. A wake-up lost to a crash between the two
 * is covered by the workers' fallback poll.
 *
 * The enqueue does not wait for that NOTIFY: the task is committed and this process's workers are
 * already woken, so the caller (an API request) answers after one round trip instead of two. A
 * NOTIFY that fails is a wake-up lost, which the fallback poll covers as above.
 */
async function wakeWorkers(db: Queryable, runAt: Date | number): Promise<void> {
  const ms = typeof runAt === 'number' ? runAt : runAt.getTime();
  // Inside a caller's transaction (a `Queryable` that is not the `Db`) the NOTIFY goes out with its
  // commit, and that commit must stay synchronous: the setting would apply to all of it.
  if (!('transaction' in db)) {
    await db.query(`select pg_notify('${TASKS_CHANNEL}', $1)`, [String(ms)]);
    return;
  }
  const here = localWorkers.get(db);
  if (here) for (const wake of here.wake) wake(ms);
  db.query(`select pg_notify('${TASKS_CHANNEL}', $1) where ${ASYNC_COMMIT}`, [
    here?.wake.size ? `${ms}:${here.token}` : String(ms),
    // A lost wake-up only delays workers until their next poll; the task is committed already.
  ]).catch(() => {});
}

/**
 * Inserts one task and its `created` event in one statement (one transaction, synchronously
 * committed), then wakes the workers (`wakeWorkers`).
 * With an idempotency key already used by the tenant it inserts nothing and returns undefined;
 * the caller then reads the existing task.
 */
export async function enqueueTask(db: Queryable, t: NewTask): Promise<TaskRow | undefined> {
  const [row] = await db.query<TaskRow>(
    `with ins as (
       insert into tasks (id, tenant_id, agent_id, task_type, title, description, payload, priority,
                          run_at, max_attempts, idempotency_key, callback_url, parent_task_id,
                          session_id, created_by, traceparent, tracestate, agent_version, external,
                          delete_on_success)
       values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8,
               coalesce($9::timestamptz, now() + make_interval(secs => $10::float8)), $11, $12, $13, $14,
               $15, $16, $17, $18, $19::int, $20, $21)
       on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing
       returning *
     ), ev as (
       insert into events (tenant_id, stream_id, type, data)
       select tenant_id, id, 'created', json_build_object('priority', priority, 'run_at', run_at) from ins
       where not delete_on_success
     )
     select ins.* from ins`,
    [
      t.id,
      t.tenant_id,
      t.agent_id,
      t.task_type,
      t.title,
      t.description,
      JSON.stringify(t.payload ?? {}),
      t.priority,
      t.run_at ?? null,
      t.delay_seconds ?? 0,
      t.max_attempts,
      t.idempotency_key ?? null,
      t.callback_url ?? null,
      t.parent_task_id ?? null,
      t.session_id ?? null,
      t.created_by ?? null,
      t.traceparent ?? null,
      t.tracestate ?? null,
      t.agent_version ?? null,
      t.external ?? null,
      t.delete_on_success ?? false,
    ],
  );
  if (!row) return undefined;
  // A lost wake-up only delays workers until their next poll; the task is committed already.
  await wakeWorkers(db, row.run_at).catch(() => {});
  return row;
}

/**
 * Inserts many tasks of one tenant with one statement, then wakes the workers once (bulk loads, benchmarks).
 * No idempotency keys or callbacks here: those go through `enqueueTask`.
 */
export async function enqueueMany(
  db: Queryable,
  tenantId: string,
  tasks: ReadonlyArray<
    Pick<NewTask, 'id' | 'agent_id' | 'task_type' | 'title' | 'payload' | 'priority' | 'delete_on_success'>
  >,
): Promise<number> {
  if (tasks.length === 0) return 0;
  const [row] = await db.query<{ n: number; first_ms: string | null }>(
    `with ins as (
       insert into tasks (id, tenant_id, agent_id, task_type, title, payload, priority, delete_on_success)
       select id, $1, agent_id, task_type, title, payload, priority, delete_on_success
       from unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::int[], $8::bool[])
         as r(id, agent_id, task_type, title, payload, priority, delete_on_success)
       returning id, tenant_id, run_at, delete_on_success
     ), ev as (
       insert into events (tenant_id, stream_id, type)
       select tenant_id, id, 'created' from ins where not delete_on_success
     )
     select count(*)::int as n, (extract(epoch from min(run_at)) * 1000)::bigint::text as first_ms from ins`,
    [
      tenantId,
      tasks.map((t) => t.id),
      tasks.map((t) => t.agent_id),
      tasks.map((t) => t.task_type),
      tasks.map((t) => t.title),
      tasks.map((t) => JSON.stringify(t.payload ?? {})),
      tasks.map((t) => t.priority),
      tasks.map((t) => t.delete_on_success ?? false),
    ],
  );
  // A lost wake-up only delays workers until their next poll; the tasks are committed already.
  if (row?.first_ms) await wakeWorkers(db, Number(row.first_ms)).catch(() => {});
  return row?.n ?? 0;
}
