import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered files in migrations/, in order. Numbers are never reused and files never edited once shipped. */
export function listMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(new URL(file, `file://${dir}`), 'utf8'),
    }));
}

// Arbitrary but fixed: every Agentry process takes this transaction-scoped advisory lock before
// applying a migration, so two processes starting at once apply each file exactly once.
const MIGRATION_LOCK = 7_070_001;

/**
 * Applies the pending migrations, each in its own transaction together with its record in
 * `agentry_migrations`. Safe to run twice and from several processes at once.
 */
export async function migrate(
  db: Db,
  onProgress: (m: Migration) => void = () => {},
  migrations = listMigrations(),
): Promise<Migration[]> {
  // Under the same lock: concurrent `create table if not exists` on a fresh PostgreSQL database
  // collide in the catalog (duplicate key on pg_type) instead of one of them skipping.
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(
      `create table if not exists agentry_migrations (
         version int primary key, name text not null, applied_at timestamptz not null default now())`,
    );
  });
  // Read once without the lock: a version recorded stays recorded, so those are skipped, and a store
  // that is up to date (every start but the first) takes one query instead of a transaction per file.
  const recorded = new Set(
    (await db.query<{ version: number }>('select version from agentry_migrations')).map((r) => r.version),
  );
  const applied: Migration[] = [];
  for (const m of migrations) {
    if (recorded.has(m.version)) continue;
    const done = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const rows = await tx.query('select 1 from agentry_migrations where version = $1', [m.version]);
      if (rows.length > 0) return false;
      onProgress(m);
      await tx.exec(m.sql);
      await tx.query('insert into agentry_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m);
  }
  return applied;
}
