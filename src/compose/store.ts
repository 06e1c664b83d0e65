import type { Config } from '../config/config.ts';
import type { Db } from '../db/db.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';
import { type LiveBus, LocalBus, PgNotifyBus } from '../events/bus.ts';
import type { HealthRegistry } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import type { Closers } from './closers.ts';

/** Opens the store, migrates it, and puts the live bus on it (NOTIFY on PostgreSQL, in-process on PGlite). */
export async function openStore(
  config: Config,
  log: Logger,
  closers: Closers,
  onMigration?: (name: string) => void,
): Promise<{ db: Db; bus: LiveBus }> {
  const db = await openDb(config.store, log);
  closers.add('store', () => db.close());
  await migrate(db, (m) => onMigration?.(`${String(m.version).padStart(4, '0')}_${m.name}`));
  const bus: LiveBus = db.kind === 'postgres' ? new PgNotifyBus(db) : new LocalBus();
  closers.add('live bus', () => bus.close());
  return { db, bus };
}

/** The store's and the bus's health checks. */
export function storeHealth(health: HealthRegistry, db: Db, bus: LiveBus): void {
  health.register('store', {
    essential: true,
    run: async () => {
      await db.ping();
      return { detail: { kind: db.kind, ...db.poolStats() } };
    },
  });
  health.register('live_bus', {
    essential: false,
    run: async () => {
      await bus.ping();
      return { detail: { kind: bus.kind } };
    },
  });
}
