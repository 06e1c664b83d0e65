import { openAsBlob } from 'node:fs';
import { PgliteDb } from '../../src/db/pglite.ts';
import { writeSeed } from '../../src/db/seed.ts';

/**
 * Where scripts/test.mjs leaves one migrated PGlite store for the run: `startServer('pglite')` starts
 * from it (PGlite's loadDataDir) instead of running initdb and every migration in each test file.
 * Unset when a file runs on its own (`node --test`): then each server starts from the built seed
 * (dist/pglite-seed.tar.gz, src/db/seed.ts) when there is one, else from an empty store.
 */
export const snapshotEnv = 'AGENTRY_TEST_PGLITE_SNAPSHOT';

/**
 * Creates an in-memory store, applies every migration and writes its data directory to `file` (tar,
 * src/db/seed.ts), small: without the template databases (no test creates a database in PGlite) and
 * with 1 MB WAL segments, 14 MB where PostgreSQL's defaults make 42, which every store started from the
 * snapshot unpacks (~0.45 s of CPU for the templates, ~0.2 s for the WAL; docs/performance.md).
 */
export function writeSnapshot(file: string): Promise<void> {
  return writeSeed(file, { dropTemplates: true, smallWal: true });
}

/**
 * The buffer cache of a test's PGlite store, in MB (PGlite's default is 128). PostgreSQL zeroes it at
 * every start, which was about 40% of the CPU a store's start costs; a test's data fits in 16 MB.
 * scripts/test.mjs and test/cli/run-cli.ts give it to spawned servers as AGENTRY_PGLITE_SHARED_BUFFERS_MB.
 */
export const testSharedBuffersMb = 16;

/**
 * Node flags for a test process and for each process a test starts: V8 compiles WebAssembly with its
 * baseline compiler only. Its optimising tier spends ~0.6 s of CPU in every process that opens a
 * PGlite store (~9 MB of WebAssembly), which a test's few thousand statements never win back; the
 * suite takes ~15% less CPU without it (docs/performance.md). The code's behaviour is the same.
 */
export const testNodeFlags = ['--liftoff-only'];

/**
 * Where a process that runs several test files one after another (scripts/test-batches.mjs) keeps
 * the path of the one running, on `globalThis`, for helpers whose state is a file's own; set by
 * `fileClock` in scripts/test-file-clock.mjs.
 */
export const testFileKey = Symbol.for('agentry.test.file');

/** Store config for a new in-memory PGlite store: from the run's snapshot when there is one. */
export function memoryStore(): {
  data_dir: string;
  pglite_seed_file?: string;
  pglite_shared_buffers_mb: number;
  pglite_thread?: boolean;
} {
  const seed = process.env[snapshotEnv];
  return {
    data_dir: 'memory://',
    pglite_shared_buffers_mb: testSharedBuffersMb,
    ...(seed && { pglite_seed_file: seed }),
    // AGENTRY_TEST_PGLITE_THREAD=1: every server's store in its own thread (store.pglite_thread).
    ...(process.env.AGENTRY_TEST_PGLITE_THREAD === '1' && { pglite_thread: true }),
  };
}

/** A new in-memory PGlite store, from the run's snapshot when there is one (`migrate` on it is a no-op). */
export async function openTestPglite(): Promise<PgliteDb> {
  const seed = process.env[snapshotEnv];
  return PgliteDb.open('memory://', {
    sharedBuffersMb: testSharedBuffersMb,
    ...(seed && { seed: await openAsBlob(seed) }),
  });
}
