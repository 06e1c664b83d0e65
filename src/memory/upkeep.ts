import type { Db } from '../db/db.ts';

/**
 * Full-text upkeep that PostgreSQL's autovacuum does and PGlite, which has none, never does: new
 * chunks' words wait in the GIN index's pending list (up to 1 MB, migration 0010) until the list
 * overflows, and every word a search looks up reads that whole list, so after a load it can stay
 * at up to 125 pages for as long as nothing else is written. On PGlite, the first search after
 * writes merges the list into the index (about 90 ms for a full list): at 10k chunks full-text
 * candidates went from 16.7 to 10.1 ms p50. The same search also refreshes the statistics of
 * `chunks` (ANALYZE of the words and knowledge-base columns) once a fifth of the rows it last saw,
 * and at least `ANALYZE_MIN_ROWS`, were written since: migration 0012 reads them to leave out the
 * lookups of words that are common in the knowledge base (0.8 s at 100k chunks; full-text
 * candidates 12.4 → 5.6 ms there). PostgreSQL is left to autovacuum.
 */
const dirty = new WeakMap<Db, boolean>();
const cleaning = new WeakMap<Db, Promise<void>>();

/** Rows written since the last ANALYZE, and the table's rows then (null: not known yet). */
const analysed = new WeakMap<Db, { written: number; rows: number | null }>();
export const ANALYZE_MIN_ROWS = 1000;

/** `rows` chunks were written on `db`. */
export function chunksWritten(db: Db, rows = 0): void {
  dirty.set(db, true);
  const a = analysed.get(db) ?? { written: 0, rows: null };
  a.written += rows;
  analysed.set(db, a);
}

/**
 * ANALYZE of `chunks` where it is due. A store opened by this process may never have been analysed:
 * the first check counts its rows (reltuples is -1 until ANALYZE).
 */
async function analyseIfDue(db: Db): Promise<void> {
  const a = analysed.get(db) ?? { written: 0, rows: null };
  analysed.set(db, a);
  if (a.rows === null) {
    const [r] = await db.query<{ rows: number; unanalysed: number | null }>(
      `select c.reltuples::float8 as rows,
              case when c.reltuples < 0 then (select count(*) from chunks)::float8 end as unanalysed
         from pg_class c where c.oid = 'chunks'::regclass`,
    );
    a.rows = Math.max(0, r?.rows ?? 0);
    a.written = Math.max(a.written, r?.unanalysed ?? 0);
  }
  if (a.written < Math.max(ANALYZE_MIN_ROWS, a.rows * 0.2)) return;
  const written = a.written;
  await db.exec('analyze chunks (tsv, knowledge_base_id)');
  const [r] = await db.query<{ rows: number }>(
    `select reltuples::float8 as rows from pg_class where oid = 'chunks'::regclass`,
  );
  a.rows = r?.rows ?? 0;
  a.written -= written;
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
      .then(() => analyseIfDue(db))
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
