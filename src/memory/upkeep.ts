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
interface Upkeep {
  /** Chunks written since the last merge (a store opened by this process may hold a list from before it). */
  dirty: boolean;
  /** The merge (and ANALYZE) under way. */
  cleaning?: Promise<void>;
  /** Rows written since the last ANALYZE. */
  written: number;
  /** The table's rows at the last ANALYZE (null: not known yet). */
  rows: number | null;
}
const upkeeps = new WeakMap<Db, Upkeep>();
export const ANALYZE_MIN_ROWS = 1000;

function upkeep(db: Db): Upkeep {
  let u = upkeeps.get(db);
  if (!u) {
    u = { dirty: true, written: 0, rows: null };
    upkeeps.set(db, u);
  }
  return u;
}

/** `rows` chunks were written on `db`. */
export function chunksWritten(db: Db, rows: number): void {
  const u = upkeep(db);
  u.dirty = true;
  u.written += rows;
}

/**
 * ANALYZE of `chunks` where it is due. A store opened by this process may never have been analysed:
 * the first check counts its rows (reltuples is -1 until ANALYZE).
 */
async function analyseIfDue(db: Db, u: Upkeep): Promise<void> {
  if (u.rows === null) {
    const [r] = await db.query<{ rows: number; unanalysed: number | null }>(
      `select c.reltuples::float8 as rows,
              case when c.reltuples < 0 then (select count(*) from chunks)::float8 end as unanalysed
         from pg_class c where c.oid = 'chunks'::regclass`,
    );
    u.rows = Math.max(0, r?.rows ?? 0);
    u.written = Math.max(u.written, r?.unanalysed ?? 0);
  }
  if (u.written < Math.max(ANALYZE_MIN_ROWS, u.rows * 0.2)) return;
  const written = u.written;
  await db.exec('analyze chunks (tsv, knowledge_base_id)');
  const [r] = await db.query<{ rows: number }>(
    `select reltuples::float8 as rows from pg_class where oid = 'chunks'::regclass`,
  );
  u.rows = r?.rows ?? 0;
  u.written -= written;
}

/** Before a full-text search on `db`: merges the pending list if chunks were written since (PGlite). */
export async function beforeTextSearch(db: Db): Promise<void> {
  if (db.kind !== 'pglite') return;
  const u = upkeep(db);
  if (!u.dirty) return;
  if (!u.cleaning) {
    u.dirty = false;
    u.cleaning = db
      .query(`select gin_clean_pending_list('chunks_tsv'::regclass)`)
      .then(() => analyseIfDue(db, u))
      .then(
        () => {},
        (err) => {
          u.dirty = true;
          throw err;
        },
      )
      .finally(() => {
        u.cleaning = undefined;
      });
  }
  await u.cleaning;
}
