import { parentPort, workerData } from 'node:worker_threads';
import type { Queryable } from './db.ts';
import { PgliteDb } from './pglite.ts';
import { isNewStore, seedFor } from './seed.ts';

/**
 * The embedded store's own thread: PGlite (PostgreSQL in WebAssembly) runs here, so its statements
 * take a core of their own instead of the event loop's. pglite-threaded.ts is the other side and
 * the protocol's owner; this side runs what it is asked, in order, on one PgliteDb.
 */

/** What the main thread hands the thread: this module runs its side only there (both import it). */
export interface ThreadData {
  pgliteThread: true;
  dataDir: string;
  sharedBuffersMb?: number;
  /** `store.pglite_seed_file`, for a new store (seed.ts `seedFor`). */
  seedFile?: string;
}

export type ToThread =
  | { type: 'query'; id: number; tx?: number; sql: string; params: readonly unknown[]; name?: string }
  | { type: 'exec'; id: number; tx?: number; sql: string }
  | { type: 'begin'; id: number; tx: number }
  | { type: 'end'; id: number; tx: number; commit: boolean }
  | { type: 'listen'; id: number; listen: number; channel: string }
  | { type: 'unlisten'; id: number; listen: number }
  | { type: 'notify'; id: number; channel: string; payload: string }
  | { type: 'ping'; id: number }
  | { type: 'dump'; id: number; compression: 'none' | 'gzip' }
  | { type: 'close'; id: number };

/** An error as it crosses: its message, name and own plain fields (SQLSTATE `code`, `constraint`…). */
export interface ThreadError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, string | number | boolean | null>;
}

export type FromThread =
  | { type: 'opened' }
  | { type: 'done'; id: number; result?: unknown }
  | { type: 'failed'; id: number; error: ThreadError }
  | { type: 'notification'; listen: number; payload: string };

function toThreadError(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: ThreadError['fields'] = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
  }
  return { name: err.name, message: err.message, stack: err.stack, fields };
}

/** Rolls a transaction back: what `end` with `commit: false` throws inside it. */
class Rollback extends Error {}

/** A transaction's statements, handed to its callback one at a time as they arrive. */
class Steps {
  private readonly queued: ToThread[] = [];
  private waiter?: (m: ToThread) => void;

  push(m: ToThread): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w(m);
    else this.queued.push(m);
  }

  next(): Promise<ToThread> {
    const m = this.queued.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => (this.waiter = resolve));
  }
}

async function serve(data: ThreadData): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const post = (m: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const fail = (id: number, err: unknown) => post({ type: 'failed', id, error: toThreadError(err) });
  // The main thread holds the data directory's lock (a process's, taken before this thread starts).
  const db = await PgliteDb.open(data.dataDir, {
    lock: false,
    sharedBuffersMb: data.sharedBuffersMb,
    seed: isNewStore(data.dataDir) ? await seedFor(data.seedFile) : undefined,
  });
  const transactions = new Map<number, Steps>();
  const listening = new Map<number, () => Promise<void>>();

  /** One statement, on the store or in a transaction. */
  const run = async (on: Queryable, m: ToThread & { type: 'query' | 'exec' }): Promise<unknown> =>
    m.type === 'query' ? on.query(m.sql, m.params, m.name ? { name: m.name } : undefined) : on.exec(m.sql);

  const begin = (m: ToThread & { type: 'begin' }) => {
    const steps = new Steps();
    transactions.set(m.tx, steps);
    let end = m.id;
    db.transaction(async (tx) => {
      post({ type: 'done', id: m.id });
      for (;;) {
        const step = await steps.next();
        if (step.type === 'end') {
          end = step.id;
          if (!step.commit) throw new Rollback();
          return;
        }
        if (step.type !== 'query' && step.type !== 'exec') continue;
        await run(tx, step).then(
          (result) => post({ type: 'done', id: step.id, result }),
          (err) => fail(step.id, err),
        );
      }
    })
      .then(
        () => post({ type: 'done', id: end }),
        (err) => (err instanceof Rollback ? post({ type: 'done', id: end }) : fail(end, err)),
      )
      .finally(() => transactions.delete(m.tx));
  };

  const handle = async (m: ToThread): Promise<unknown> => {
    switch (m.type) {
      case 'query':
      case 'exec':
        return run(db, m);
      case 'listen': {
        const listen = m.listen;
        listening.set(
          listen,
          await db.listen(m.channel, (payload) => post({ type: 'notification', listen, payload })),
        );
        return;
      }
      case 'unlisten': {
        const stop = listening.get(m.listen);
        listening.delete(m.listen);
        return stop?.();
      }
      case 'notify':
        return db.notify(m.channel, m.payload);
      case 'ping':
        return db.ping();
      case 'dump':
        return (await db.dumpDataDir(m.compression)).arrayBuffer();
      case 'close':
        return db.close();
    }
  };

  port.on('message', (m: ToThread) => {
    if (m.type === 'begin') return begin(m);
    if ('tx' in m && m.tx !== undefined) {
      const steps = transactions.get(m.tx);
      return steps ? steps.push(m) : fail(m.id, new Error(`no transaction ${m.tx} in progress`));
    }
    handle(m).then(
      (result) =>
        result instanceof ArrayBuffer
          ? post({ type: 'done', id: m.id, result }, [result])
          : post({ type: 'done', id: m.id, result }),
      (err) => fail(m.id, err),
    );
  });
  post({ type: 'opened' });
}

const data = workerData as ThreadData | undefined;
if (data?.pgliteThread) {
  serve(data).catch((err) => {
    parentPort?.postMessage({ type: 'failed', id: 0, error: toThreadError(err) } satisfies FromThread);
  });
}
