import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { PgliteDb } from '../../src/db/pglite.ts';

/** An in-memory store migrated up to, not including, migration `version`: a store written before it. */
export async function storeBefore(version: number): Promise<PgliteDb> {
  const db = await PgliteDb.open('memory://');
  await migrate(
    db,
    () => {},
    listMigrations().filter((m) => m.version < version),
  );
  return db;
}
