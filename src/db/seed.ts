import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listMigrations, type Migration, migrate } from './migrate.ts';
import { PgliteDb } from './pglite.ts';

/**
 * The baseline a new embedded store starts from: an empty store with every migration applied, saved
 * by PGlite's `dumpDataDir` (gzip). `node scripts/build.mjs` (the `prepare` script of `npm install`,
 * and `npm run build`) makes it, so a newcomer's first `npm start` unpacks it instead of running
 * initdb and ~80 migrations (8.6 s to ready on a quiet machine; docs/performance.md). A store made
 * from it is migrated as any store is: the migrations newer than the seed apply on top.
 */
export const builtSeedFile = fileURLToPath(new URL('../../dist/pglite-seed.tar.gz', import.meta.url));

/** Beside the seed: which migrations it holds, so an edited one (in a checkout) is never taken as run. */
interface SeedManifest {
  /** The number of migrations the seed holds: the first `count` of `listMigrations()`. */
  count: number;
  /** sha256 of their versions, names and SQL, in order. */
  hash: string;
}

const manifestFile = (seedFile: string) => seedFile.replace(/\.tar(\.gz)?$/, '.json');

function migrationsHash(migrations: Migration[]): string {
  const h = createHash('sha256');
  for (const m of migrations) h.update(`${m.version}\0${m.name}\0${m.sql}\0`);
  return h.digest('hex');
}

export interface WriteSeedOptions {
  /** gzip the tar (the shipped seed: ~8× smaller on disk; unpacking it costs ~0.1 s). */
  gzip?: boolean;
  /**
   * Drop the template databases (15 MB of the 42 MB unpacked). Only for the test suite's
   * throwaway stores: a user's store keeps them, as initdb made them, so it is the same as one
   * migrated from empty.
   */
  dropTemplates?: boolean;
  /**
   * 1 MB WAL segments and no spare ones (PgliteOptions.wal): 14 MB less to unpack at every start.
   * Only for the test suite's throwaway stores, as `dropTemplates`: the segment size stays a store's.
   */
  smallWal?: boolean;
  /** The migrations to apply (all by default; the tests make an older seed with fewer). */
  migrations?: Migration[];
}

/** Creates an in-memory store, applies the migrations and writes its data directory to `file` (tar). */
export async function writeSeed(file: string, options: WriteSeedOptions = {}): Promise<void> {
  const migrations = options.migrations ?? listMigrations();
  const db = await PgliteDb.open('memory://', {
    ...(options.smallWal && { wal: { segmentMb: 1, maxMb: 2 } }),
  });
  try {
    await migrate(db, () => {}, migrations);
    if (options.dropTemplates) {
      await db.exec(
        "update pg_database set datistemplate = false where datname in ('template0', 'template1')",
      );
      await db.exec('drop database template0');
      await db.exec('drop database template1');
    }
    // A checkpoint first: the dump then carries the migrations in the tables' files, not as WAL
    // the new store would replay at its first start.
    await db.exec('checkpoint');
    writeFileSync(
      file,
      Buffer.from(await (await db.dumpDataDir(options.gzip ? 'gzip' : 'none')).arrayBuffer()),
    );
  } finally {
    await db.close();
  }
  const manifest: SeedManifest = { count: migrations.length, hash: migrationsHash(migrations) };
  writeFileSync(manifestFile(file), `${JSON.stringify(manifest)}\n`);
}

/** `store.pglite_seed_file`'s value for a store that starts empty, every migration run on it. */
export const noSeed = 'none';

/** True when `dataDir` holds no store yet (PGlite writes PG_VERSION first). */
export function isNewStore(dataDir: string): boolean {
  return dataDir.startsWith('memory://') || !existsSync(path.join(dataDir, 'PG_VERSION'));
}

/**
 * The seed for a new embedded store: the configured one (`store.pglite_seed_file`, taken as it is;
 * `none` for none), else the built one when it is there and its migrations are the first of
 * today's, unchanged. Without one the store starts empty and every migration runs on it.
 */
export async function seedFor(configured: string | undefined): Promise<Blob | undefined> {
  if (configured === noSeed) return undefined;
  if (configured) return openSeed(configured);
  if (!existsSync(builtSeedFile) || !seedMatches(builtSeedFile)) return undefined;
  return openSeed(builtSeedFile);
}

async function openSeed(file: string): Promise<Blob> {
  // Read whole, not `fs.openAsBlob`: once a file-backed blob's stream has been read to its end,
  // Node (20 and 24) crashes the process on its next heap snapshot (`v8.writeHeapSnapshot`,
  // `--heapsnapshot-signal`, an inspector), which an operator takes to look at a live server.
  // PGlite unpacks a blob typed as gzip (an untyped one only after failing to read it as a tar).
  return new Blob([await readFile(file)], file.endsWith('.gz') ? { type: 'application/gzip' } : {});
}

/** True when the seed's manifest names the first migrations of the checkout, unedited. */
export function seedMatches(file: string, migrations = listMigrations()): boolean {
  try {
    const manifest = JSON.parse(readFileSync(manifestFile(file), 'utf8')) as SeedManifest;
    return (
      manifest.count <= migrations.length &&
      manifest.hash === migrationsHash(migrations.slice(0, manifest.count))
    );
  } catch {
    // No manifest, or one that does not parse: what the seed holds is unknown, so it is not used and
    // every migration runs (the start is slower, never wrong).
    return false;
  }
}
