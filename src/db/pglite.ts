import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { lockDataDir } from './data-dir-lock.ts';
import {
  ASYNC_COMMIT,
  assertChannel,
  type Db,
  type NotifyHandler,
  type Queryable,
  type QueryOptions,
} from './db.ts';
import { LoopTurns } from './loop-turns.ts';
import { PreparedStatements } from './pglite-prepared.ts';
import { storableParams } from './storable.ts';
import { rethrowFromStore } from './unavailable.ts';

export interface PgliteOptions {
  /**
   * PostgreSQL's buffer cache, in MB (PGlite's own default is 128). It is allocated in the
   * WebAssembly memory when the store opens, whatever is used, and that memory has a 2 GB ceiling.
   */
  sharedBuffersMb?: number;
  /**
   * A data directory saved with PGlite's `dumpDataDir()` (a tar file) that a new store starts from,
   * instead of running initdb; a directory that holds a store already opens as it is. The test suite
   * migrates one store and starts every server from it.
   */
  seed?: Blob;
  /**
   * A small WAL, for a store made to be copied (a seed): every store started from a seed unpacks
   * its WAL files, 16 MB or more by PostgreSQL's defaults. `segmentMb` is the segment size initdb
   * gives a new store (it stays the store's); `maxMb` the most WAL kept between checkpoints.
   */
  wal?: { segmentMb: number; maxMb: number };
  /**
   * Whether to claim the data directory (`claimDataDir`); false when the process has claimed it
   * already (the store's thread: pglite-threaded.ts claims it in the main thread). Default true.
   */
  lock?: boolean;
}

/**
 * Makes the data directory (owner only) and takes its lock for this process (data-dir-lock.ts);
 * nothing for `memory://`. Returns the release.
 */
export function claimDataDir(dataDir: string): () => void {
  if (dataDir.startsWith('memory://')) return () => {};
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return lockDataDir(dataDir);
}

/**
 * The statement with its transaction kept synchronous: an asynchronous commit's WAL would stay in
 * this process's memory, and a SIGKILL would lose a commit that was answered (ASYNC_COMMIT in db.ts).
 */
function synchronous(sql: string): string {
  return sql.includes(ASYNC_COMMIT) ? sql.replaceAll(ASYNC_COMMIT, 'true') : sql;
}

/**
 * The embedded store: PostgreSQL compiled to WebAssembly, in this process.
 * PGlite has a single connection. It queues statements itself, and `transaction()` holds that one
 * connection for the whole callback, so concurrent callers simply wait their turn; no pool is needed.
 * NOTIFY is delivered in-process to the same instance's listeners.
 */
export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly prepared: PreparedStatements;
  private constructor(
    private readonly pg: PGlite,
    /** Frees the data directory's lock (data-dir-lock.ts); nothing for `memory://`. */
    private readonly unlock: () => void = () => {},
  ) {
    this.prepared = new PreparedStatements(pg);
    // Every statement, a transaction's too, runs in PGlite's query turn: a turn of the event loop
    // first when statements have held it too long (loop-turns.ts).
    const turns = new LoopTurns();
    const exclusive = pg._runExclusiveQuery.bind(pg);
    pg._runExclusiveQuery = <T>(fn: () => Promise<T>) => exclusive(() => turns.due()?.then(fn) ?? fn());
  }

  static async open(dataDir: string, options: PgliteOptions = {}): Promise<PgliteDb> {
    const mb = options.sharedBuffersMb;
    if (mb !== undefined && !(Number.isInteger(mb) && mb >= 16 && mb <= 1024))
      throw new Error(`shared buffers of ${mb} MB: expected a whole number from 16 to 1024`);
    // Before PGlite touches the files: a second process opening them would corrupt the store.
    const unlock = options.lock === false ? () => {} : claimDataDir(dataDir);
    let seed = options.seed;
    // PGlite refuses to load a tar file over an existing store.
    if (!dataDir.startsWith('memory://') && existsSync(path.join(dataDir, 'PG_VERSION'))) seed = undefined;
    const wal = options.wal;
    const settings = [
      ...(mb ? ['-c', `shared_buffers=${mb}MB`] : []),
      ...(wal ? ['-c', `min_wal_size=${wal.maxMb}MB`, '-c', `max_wal_size=${wal.maxMb}MB`] : []),
    ];
    // pgvector ships as a separate package pinned to one PGlite release; package.json overrides that
    // pin to the installed PGlite (the extension's ABI is unchanged across these patch releases).
    try {
      const pg = await PGlite.create(dataDir, {
        extensions: { vector },
        ...(seed ? { loadDataDir: seed } : {}),
        ...(wal && { initDbStartParams: [`--wal-segsize=${wal.segmentMb}`] }),
        ...(settings.length > 0 && { startParams: [...PGlite.defaultStartParams, ...settings] }),
      });
      return new PgliteDb(pg, unlock);
    } catch (err) {
      unlock();
      throw err;
    }
  }

  async query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
    const text = synchronous(sql);
    const name = options?.name;
    if (name && !this.pg.closed) {
      if (this.prepared.accepts(name, text)) {
        // The statement's turn as `query()` takes it: after any transaction in progress, alone.
        return this.pg
          ._runExclusiveTransaction(() =>
            this.pg._runExclusiveQuery(() => this.prepared.run<R>(name, text, storableParams(params))),
          )
          .catch(rethrowFromStore);
      }
    }
    const result = await this.pg.query<R>(text, storableParams(params)).catch(rethrowFromStore);
    return result.rows;
  }

  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql).catch(rethrowFromStore);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // What `fn` throws is its own; only the store's failures (a closed PGlite) are marked.
    let fromFn = false;
    try {
      return await this.pg.transaction(async (tx) => {
        try {
          return await fn({
            query: async <R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) => {
              const text = synchronous(sql);
              const name = options?.name;
              // In the transaction's turn already: the statement takes the query's turn only, and
              // the files are written at the commit.
              if (name && this.prepared.accepts(name, text)) {
                return this.pg
                  ._runExclusiveQuery(() => this.prepared.run<R>(name, text, storableParams(params), false))
                  .catch(rethrowFromStore);
              }
              return (await tx.query<R>(text, storableParams(params)).catch(rethrowFromStore)).rows;
            },
            exec: async (sql: string) => {
              await tx.exec(sql).catch(rethrowFromStore);
            },
          });
        } catch (err) {
          fromFn = true;
          throw err;
        }
      });
    } catch (err) {
      if (fromFn) throw err;
      return rethrowFromStore(err);
    }
  }

  /** In-process: the subscription never drops, so there is no gap to report. */
  async listen(channel: string, handler: NotifyHandler): Promise<() => Promise<void>> {
    assertChannel(channel);
    return this.pg.listen(channel, handler);
  }

  async notify(channel: string, payload: string): Promise<void> {
    assertChannel(channel);
    await this.pg.query('select pg_notify($1, $2)', [channel, payload]).catch(rethrowFromStore);
  }

  /** The data directory as a tar file (gzipped or not), for `seed` (see PgliteOptions). */
  dumpDataDir(compression: 'none' | 'gzip' = 'none'): Promise<Blob> {
    return this.pg.dumpDataDir(compression);
  }

  poolStats() {
    return { total: 1, idle: 1, waiting: 0, oldestWaitMs: 0 };
  }

  /** In-process, one connection: the probe takes its turn like any statement. */
  async ping(): Promise<void> {
    await this.pg.query('select 1').catch(rethrowFromStore);
  }

  async close(): Promise<void> {
    try {
      if (!this.pg.closed) await this.pg.close();
    } finally {
      this.unlock();
    }
  }
}
