/**
 * The narrow seam between Agentry and its store. Two drivers implement it (PGlite in-process and
 * PostgreSQL over `pg`); the same SQL and migrations run on both, and nothing above this file
 * knows which one it has.
 */
export interface Queryable {
  /** Runs one statement with positional parameters ($1, $2, …) and returns its rows. */
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R[]>;
  /** Runs a script of several statements with no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface QueryOptions {
  /**
   * Prepares the statement under this name, once per connection, and executes it by name after:
   * the server parses it once and may keep a generic plan instead of planning every call. For the
   * fixed statements of hot paths (one name, one text); PGlite too (pglite-prepared.ts).
   */
  name?: string;
}

export type NotifyHandler = (payload: string) => void;

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  /** How long the oldest of them has waited, in ms (0 when none waits): the edge sheds on it. */
  oldestWaitMs: number;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel; the returned function unsubscribes. `onGap` runs when the
   * subscription was down and is back (a dropped connection re-established): whatever was notified
   * in between is lost, so a listener that must not miss work looks for it then.
   */
  listen(channel: string, handler: NotifyHandler, onGap?: () => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  poolStats(): PoolStats;
  /**
   * Checks the store answers, without queueing behind other work: on PostgreSQL over a connection
   * of its own, so the health check still answers while a burst holds every pool connection.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A condition that is true and turns `synchronous_commit` off for its statement's transaction: the
 * commit does not wait for the WAL flush. For writes that a crash may lose because they are repeated
 * (a claim, a completion, a recorded step that leaves the run running). On PostgreSQL only a crash of
 * the server can lose them; the WAL writer flushes within milliseconds. PGlite is the server, inside
 * this process, with no WAL writer: an asynchronous commit's WAL stays in this process's memory
 * until a later synchronous commit, and a SIGKILL loses it. Its driver therefore drops the
 * condition (pglite.ts), and every embedded commit is synchronous (cheap there: fsync is off).
 */
export const ASYNC_COMMIT = "(select set_config('synchronous_commit', 'off', true)) = 'off'";

/** Channel names are identifiers in LISTEN; only these characters are allowed, so none is ever quoted. */
export function assertChannel(channel: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid channel name: ${channel}`);
}
