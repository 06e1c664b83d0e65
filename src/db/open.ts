import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { AppError } from '../errors.ts';
import type { Db } from './db.ts';
import { PgliteDb } from './pglite.ts';
import { isNewStore, seedFor } from './seed.ts';

/** Hides the password when a connection string appears in a message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Opens the configured store. When PostgreSQL is configured and cannot be reached this throws a
 * clear error: it never falls back to the embedded store, which would silently split the data.
 */
export async function openDb(
  store: Pick<Config['store'], 'data_dir' | 'pool_max'> & Partial<Config['store']>,
  log?: Logger,
): Promise<Db> {
  if (!store.database_url && store.pglite_thread) {
    const { PgliteThreadDb } = await import('./pglite-threaded.ts');
    return PgliteThreadDb.open(store.data_dir, {
      sharedBuffersMb: store.pglite_shared_buffers_mb,
      seedFile: store.pglite_seed_file,
    });
  }
  if (!store.database_url)
    return PgliteDb.open(store.data_dir, {
      sharedBuffersMb: store.pglite_shared_buffers_mb,
      // Looked for only when the store is new: an existing one opens as it is.
      seed: isNewStore(store.data_dir) ? await seedFor(store.pglite_seed_file) : undefined,
    });
  // pg is loaded only when PostgreSQL is configured: an embedded start does not pay for it.
  const { PostgresDb } = await import('./postgres.ts');
  try {
    return await PostgresDb.open(store.database_url, {
      max: store.pool_max,
      connectTimeoutMs: store.connect_timeout_ms,
      log,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message || err.constructor.name : String(err);
    throw new AppError(
      'store_unavailable',
      `cannot reach PostgreSQL at ${redactUrl(store.database_url)}: ${reason}. ` +
        'Check DATABASE_URL, or unset it to use the embedded store.',
      { cause: err },
    );
  }
}
