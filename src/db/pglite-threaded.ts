import { Worker } from 'node:worker_threads';
import { assertChannel, type Db, type NotifyHandler, type Queryable, type QueryOptions } from './db.ts';
import { claimDataDir } from './pglite.ts';
import type { FromThread, ThreadData, ThreadError, ToThread } from './pglite-thread.ts';
import { storableParams } from './storable.ts';
import { markFromStore } from './unavailable.ts';

const threadEntry = new URL('./pglite-thread.js', import.meta.url);

/** Distributes `Omit` over a union, so each message keeps its own fields. */
type Ask<M> = M extends { id: number } ? Omit<M, 'id'> : never;

export interface PgliteThreadOptions {
  sharedBuffersMb?: number;
  /** `store.pglite_seed_file`, for a new store. */
  seedFile?: string;
}

/** The error the thread sent, made again here with its name, stack and fields (SQLSTATE `code`…). */
function fromThread(e: ThreadError): Error {
  const err = Object.assign(new Error(e.message), e.fields);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * The embedded store in a thread of its own (pglite-thread.ts): the same PGlite and the same
 * statements as PgliteDb, with its WebAssembly work off the event loop. Each call is a message; a
 * transaction's statements go to the thread one by one and run inside its transaction there, which
 * holds the store's one connection until `end`, as PgliteDb's does. The data directory's lock is
 * taken here, by the process, before the thread opens it.
 */
export class PgliteThreadDb implements Db {
  readonly kind = 'pglite' as const;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly handlers = new Map<number, NotifyHandler>();
  private gone?: Error;

  private constructor(
    private readonly worker: Worker,
    private readonly unlock: () => void,
  ) {
    // Nothing in flight: the thread does not keep the process alive (an in-process PGlite does not).
    worker.unref();
    worker.on('message', (m: FromThread) => this.answer(m));
    worker.on('error', (err) =>
      this.end(new Error(`PGlite is closed: its thread failed (${err.message})`, { cause: err })),
    );
    worker.on('exit', (code) => this.end(new Error(`PGlite is closed: its thread exited (code ${code})`)));
  }

  static async open(dataDir: string, options: PgliteThreadOptions = {}): Promise<PgliteThreadDb> {
    const unlock = claimDataDir(dataDir);
    const workerData: ThreadData = {
      pgliteThread: true,
      dataDir,
      sharedBuffersMb: options.sharedBuffersMb,
      seedFile: options.seedFile,
    };
    const worker = new Worker(threadEntry, { execArgv: [], workerData });
    try {
      await new Promise<void>((resolve, reject) => {
        const first = (m: FromThread) => {
          worker.off('message', first);
          if (m.type === 'opened') resolve();
          else if (m.type === 'failed') reject(fromThread(m.error));
        };
        worker.on('message', first);
        worker.once('error', reject);
        worker.once('exit', (code) =>
          reject(new Error(`the store's thread exited while opening (code ${code})`)),
        );
      });
    } catch (err) {
      await worker.terminate();
      unlock();
      throw err;
    }
    return new PgliteThreadDb(worker, unlock);
  }

  private answer(m: FromThread): void {
    if (m.type === 'notification') {
      this.handlers.get(m.listen)?.(m.payload);
      return;
    }
    if (m.type === 'opened') return;
    const call = this.pending.get(m.id);
    if (!call) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.type === 'done') call.resolve(m.result);
    else call.reject(markFromStore(fromThread(m.error)));
  }

  /**
   * The thread is gone: every call waiting on it, and every one after, fails as a closed store does
   * (a store outage: 503 `store_unavailable`, not a 500).
   */
  private end(err: Error): void {
    this.gone ??= markFromStore(err);
    for (const call of this.pending.values()) call.reject(this.gone);
    this.pending.clear();
  }

  private call<T>(m: Ask<ToThread>): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.worker.postMessage({ ...m, id });
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
    return this.call({ type: 'query', sql, params: storableParams(params), name: options?.name });
  }

  exec(sql: string): Promise<void> {
    return this.call({ type: 'exec', sql });
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx = this.nextId++;
    await this.call({ type: 'begin', tx });
    let result: T;
    try {
      result = await fn({
        query: <R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) =>
          this.call<R[]>({ type: 'query', tx, sql, params: storableParams(params), name: options?.name }),
        exec: (sql: string) => this.call<void>({ type: 'exec', tx, sql }),
      });
    } catch (err) {
      // What `fn` threw is its own, and is what the caller gets. The rollback can fail only when the
      // thread is gone (ROLLBACK does not fail on an open PGlite), and then there is no transaction
      // left to end: every later call fails with that outage (`end()`), so nothing is lost here.
      await this.call({ type: 'end', tx, commit: false }).catch(() => {});
      throw err;
    }
    await this.call({ type: 'end', tx, commit: true });
    return result;
  }

  /** In-process PGlite behind the thread: the subscription never drops, so there is no gap. */
  async listen(channel: string, handler: NotifyHandler): Promise<() => Promise<void>> {
    assertChannel(channel);
    // Set before asking: the thread may send a notification right behind its answer.
    const listen = this.nextId++;
    this.handlers.set(listen, handler);
    await this.call({ type: 'listen', listen, channel }).catch((err) => {
      this.handlers.delete(listen);
      throw err;
    });
    return async () => {
      this.handlers.delete(listen);
      await this.call({ type: 'unlisten', listen });
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    assertChannel(channel);
    await this.call({ type: 'notify', channel, payload });
  }

  async dumpDataDir(compression: 'none' | 'gzip' = 'none'): Promise<Blob> {
    const bytes = await this.call<ArrayBuffer>({ type: 'dump', compression });
    return new Blob([bytes], compression === 'gzip' ? { type: 'application/gzip' } : {});
  }

  poolStats() {
    return { total: 1, idle: 1, waiting: 0, oldestWaitMs: 0 };
  }

  async ping(): Promise<void> {
    await this.call({ type: 'ping' });
  }

  async close(): Promise<void> {
    try {
      if (!this.gone) await this.call({ type: 'close' });
    } finally {
      await this.worker.terminate();
      this.unlock();
    }
  }
}
