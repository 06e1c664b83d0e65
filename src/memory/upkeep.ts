import type { Db } from '../db/db.ts';

/**
 * Full-text upkeep that PostgreSQL's autovacuum does and PGlite, which has none, never does: new
 * chunks' words wait in the GIN index's pending list (up to 1 MB, migration 0010) until the list
 * overflows, and every word a search looks up reads that whole list, so after a load it can stay
 * at up to 125 pages for as long as nothing else is written. On PGlite, the first search after
 * writes merges the list into the index (about 90 ms for a full list): at 10k chunks full-text
 * candidates went from 16.7 to 10.1 ms p50. PostgreSQL is left to autovacuum.
 */
const dirty = new WeakMap<Db, boolean>();
const cleaning = new WeakMap<Db, Promise<void>>();

/** Chunks were written on `db`. */
export function chunksWritten(db: Db): void {
  dirty.set(db, true);
}

/** Before a full-text search on `db`: merges the pending list if chunks were written since (PGlite). */
export async function beforeTextSearch(db: Db): Promise<void> {
  // A store opened by this process may hold a list from before it: unknown counts as written.
  if (db.kind !== 'pglite' || dirty.get(db) === false) return;
  let run = cleaning.get(db);
  if (!run) {
    dirty.set(db, false);
    run = db
      .query(`select gin_clean_pending_list('chunks_tsv'::regclass)`)
      .then(
        () => {},
        (err) => {
          dirty.set(db, true);
          throw err;
        },
      )
      .finally(() => cleaning.delete(db));
    cleaning.set(db, run);
  }
  await run;
}
