/**
 * Whether an error means the store cannot be reached right now (as opposed to a bad query): the
 * server is down, restarting or refusing connections, a connection dropped, the pool timed out
 * waiting for a connection, or the store was closed by a shutdown. The one place this is decided;
 * the HTTP layer answers these with 503 `store_unavailable` and Retry-After instead of a 500.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [err];
  while (pending.length > 0) {
    const e = pending.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (matches(e as ErrorLike)) return true;
    const { cause, errors } = e as ErrorLike;
    pending.push(cause);
    // Node raises an AggregateError when every address of a host refused (IPv4 and IPv6).
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return false;
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** Socket-level failures to reach or keep a connection to the server. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up or shutting down), 53300 too_many_connections; class 08 is connection exceptions.
 */
const sqlStates = new Set(['57P01', '57P02', '57P03', '53300']);

/** Errors `pg`, `pg-pool` and PGlite raise without a code. */
const messages = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /cannot use a pool after calling end/i,
  /client has encountered a connection error/i,
  /client was closed and is not queryable/i,
  /pglite is closed/i,
];

function matches(e: ErrorLike): boolean {
  if (e.code === 'store_unavailable') return true;
  if (
    typeof e.code === 'string' &&
    (socketCodes.has(e.code) || sqlStates.has(e.code) || /^08...$/.test(e.code))
  )
    return true;
  return typeof e.message === 'string' && messages.some((m) => m.test(e.message as string));
}

const raisedByStore = Symbol.for('agentry.raisedByStore');

/** Marks an error as raised by a store driver (its own call, not code run inside a transaction). */
export function markFromStore<E>(err: E): E {
  if (err && typeof err === 'object') (err as Record<symbol, boolean>)[raisedByStore] = true;
  return err;
}

/** Marks an error as raised by a store driver (markFromStore) and throws it. */
export function rethrowFromStore(err: unknown): never {
  throw markFromStore(err);
}

/**
 * Whether an error is an outage of the store: raised by a store driver (anywhere in its cause
 * chain) and `isStoreUnavailable`. A refused connection to a model provider or a remote runtime
 * is not one, though its error looks the same.
 */
export function isStoreOutage(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 16; depth++) {
    if ((e as Record<symbol, boolean>)[raisedByStore]) return isStoreUnavailable(e);
    e = (e as ErrorLike).cause;
  }
  return false;
}
