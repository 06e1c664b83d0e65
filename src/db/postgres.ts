import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import pg from 'pg';
import type { Logger } from 'pino';
import { toError } from '../errors.ts';
import { assertChannel, type Db, type NotifyHandler, type Queryable, type QueryOptions } from './db.ts';
import { storableParams } from './storable.ts';
import { isStoreUnavailable, rethrowFromStore } from './unavailable.ts';
import { WaitLine } from './wait-line.ts';

/**
 * PostgreSQL over `pg`: a pool for queries, plus one dedicated connection for LISTEN that is
 * re-established (and every channel re-subscribed) when it drops, so a terminated backend does not
 * leave the process deaf to notifications.
 */
export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private listener?: pg.Client;
  private connecting?: Promise<pg.Client>;
  private readonly handlers = new Map<string, Set<NotifyHandler>>();
  private readonly gapHandlers = new Set<() => void>();
  private closed = false;
  private probe?: pg.Pool;
  private readonly line = new WaitLine();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly log?: Logger,
  ) {}

  /** Connects and checks the server answers; throws (never falls back) when it cannot. */
  static async open(
    url: string,
    options: { max?: number; connectTimeoutMs?: number; log?: Logger } = {},
  ): Promise<PostgresDb> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 30_000,
    });
    // An idle client that dies (server restart, pg_terminate_backend) emits here; the pool drops it.
    pool.on('error', (err) => options.log?.warn({ err }, 'idle database connection lost'));
    try {
      await pool.query('select 1');
    } catch (err) {
      // The first query failed (rethrown below); the pool is dropped either way.
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresDb(pool, url, options.log);
  }

  async query<R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<R[]> {
    return this.withClient(
      async (client) =>
        (await client.query(statement(sql, params, options)).catch(rethrowFromStore)).rows as R[],
    );
  }

  async exec(sql: string): Promise<void> {
    await this.withClient((client) => client.query(sql).catch(rethrowFromStore));
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withClient(async (client, discard) => {
      await client.query('begin').catch(rethrowFromStore);
      try {
        const result = await fn({
          query: async <R>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) =>
            (await client.query(statement(sql, params, options)).catch(rethrowFromStore)).rows as R[],
          exec: async (sql: string) => {
            await client.query(sql).catch(rethrowFromStore);
          },
        });
        await client.query('commit').catch(rethrowFromStore);
        return result;
      } catch (err) {
        // The statement's error is rethrown below. A connection whose rollback failed may still be
        // in the transaction: it goes back as broken, and the pool opens a new one in its place.
        await client.query('rollback').catch((rollbackErr: unknown) => discard(toError(rollbackErr)));
        throw err;
      }
    });
  }

  /**
   * Lends `fn` a pool connection, counting its wait in the line the edge watches (pg's own
   * `pool.query` does the same checkout, unseen). `fn` marks the driver's errors itself
   * (`rethrowFromStore`), so that what a transaction's callback throws of its own stays unmarked.
   */
  private async withClient<T>(
    fn: (client: pg.PoolClient, discard: (why: Error) => void) => Promise<T>,
  ): Promise<T> {
    const ticket = this.line.enter();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return rethrowFromStore(err);
    } finally {
      this.line.leave(ticket);
    }
    // A checked-out client has none of the pool's listeners: a connection lost while it is lent (the
    // server stopped mid-transaction) would be an unhandled 'error' event and end the process.
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
      this.log?.warn({ err }, 'database connection lost while in use');
    };
    client.on('error', onError);
    const discard = (why: Error) => {
      lost ??= why;
      this.log?.warn({ err: why }, 'database connection discarded');
    };
    try {
      return await fn(client, discard);
    } catch (err) {
      // A query that failed because the connection dropped may reject before the 'error' event.
      if (isStoreUnavailable(err)) lost ??= toError(err);
      throw err;
    } finally {
      client.off('error', onError);
      // A lost connection goes back as broken: the pool closes it instead of lending it again.
      client.release(lost);
    }
  }

  async listen(channel: string, handler: NotifyHandler, onGap?: () => void): Promise<() => Promise<void>> {
    assertChannel(channel);
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      const client = await this.listenerClient();
      await client.query(`listen ${channel}`);
    }
    set.add(handler);
    if (onGap) this.gapHandlers.add(onGap);
    return async () => {
      set.delete(handler);
      if (onGap) this.gapHandlers.delete(onGap);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        // A listener connection that is gone listens to nothing; its reconnect subscribes only live channels.
        await this.listener?.query(`unlisten ${channel}`).catch(() => {});
      }
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    assertChannel(channel);
    await this.query('select pg_notify($1, $2)', [channel, payload]);
  }

  poolStats() {
    return {
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      oldestWaitMs: this.line.oldestMs(),
    };
  }

  async ping(): Promise<void> {
    // A pool of one, apart from the main pool, opened on first use and kept.
    this.probe ??= new pg.Pool({ connectionString: this.url, max: 1, connectionTimeoutMillis: 2000 }).on(
      'error',
      (err) => this.log?.warn({ err }, 'idle health-check connection lost'),
    );
    await this.probe.query('select 1').catch(rethrowFromStore);
  }

  async close(): Promise<void> {
    this.closed = true;
    // Closing: a connection that fails to end is dropped with the process.
    await this.listener?.end().catch(() => {});
    // Closing: a connection that fails to end is dropped with the process.
    await this.probe?.end().catch(() => {});
    await this.pool.end();
  }

  private listenerClient(): Promise<pg.Client> {
    if (this.listener) return Promise.resolve(this.listener);
    // Its socket, and every event on it, would otherwise carry the trace of the first caller.
    this.connecting ??= outsideTraces(() => this.connectListener()).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectListener(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      for (const handler of this.handlers.get(msg.channel) ?? []) handler(msg.payload ?? '');
    });
    client.on('error', (err) => this.log?.warn({ err }, 'listen connection error'));
    client.on('end', () => {
      if (this.listener === client) this.listener = undefined;
      if (!this.closed && this.handlers.size > 0) this.reconnectListener(250);
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`listen ${channel}`);
    this.listener = client;
    return client;
  }

  private reconnectListener(delayMs: number): void {
    setTimeout(() => {
      if (this.closed || this.listener) return;
      this.listenerClient().then(
        () => {
          this.log?.info('listen connection re-established');
          for (const onGap of this.gapHandlers) onGap();
        },
        (err) => {
          this.log?.warn({ err: toError(err) }, 'listen reconnect failed; retrying');
          this.reconnectListener(Math.min(delayMs * 2, 5000));
        },
      );
    }, delayMs).unref();
  }
}

/** A `pg` query config: named (prepared per connection) when the caller gave a name. */
function statement(sql: string, params: readonly unknown[], options?: QueryOptions): pg.QueryConfig {
  return { text: sql, values: storableParams(params), ...(options?.name ? { name: options.name } : {}) };
}

/**
 * Runs `fn` outside any trace: the LISTEN connection is opened on behalf of one request, but its
 * later work (reconnects, re-subscriptions) belongs to none. Without a tracer registered this is a
 * plain call (the API's no-op context manager).
 */
function outsideTraces<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}
