import type { Queryable } from '../db/db.ts';

export interface Maintained {
  analyzed: boolean;
  vacuumed: boolean;
}

/**
 * Keeps the `tasks` table's planner statistics and dead rows in check where nothing else does:
 * PGlite has no autovacuum at all, and a PostgreSQL can run with it off (or not have reached a table
 * yet: a bulk load is drained long before the first autoanalyze).
 *
 * The claim depends on it. Without statistics the planner guesses a handful of pending rows and
 * picks a bitmap scan plus a sort of the whole backlog (30 ms at 20,000 pending) instead of walking
 * `tasks_runnable` in order and stopping after the batch (under 1 ms); and every attempt leaves a dead
 * row behind in `tasks_running`, which the per-tenant count then reads again on every claim.
 *
 * Run at worker start and with the lease sweep; cheap when there is nothing to do (one catalogue
 * read). Thresholds follow autovacuum's defaults, with a lower floor since the queue churns.
 */
export async function maintainTasksTable(
  db: Queryable,
  /**
   * PGlite: it reports `autovacuum = on` without running it, and keeps no activity counters, so the
   * caller counts the attempts it claimed since its last vacuum (`churn`) and one runs every 5,000.
   */
  embedded?: { churn: number },
): Promise<Maintained> {
  if (embedded && embedded.churn >= 5000) {
    await db.query('vacuum (analyze) tasks');
    return { analyzed: true, vacuumed: true };
  }
  const [s] = await db.query<{ analyze: boolean; vacuum: boolean }>(
    `select (s.last_analyze is null and s.last_autoanalyze is null and pg_relation_size(c.oid) > 0)
              or (not auto.on and s.n_mod_since_analyze > 500 + 0.1 * greatest(c.reltuples, 0)) as analyze,
            not auto.on and s.n_dead_tup > 1000 + 0.2 * greatest(c.reltuples, 0) as vacuum
     from pg_class c
     join pg_stat_user_tables s on s.relid = c.oid
     cross join (select coalesce(current_setting('autovacuum', true), 'off') = 'on' as on) auto
     where c.oid = 'tasks'::regclass`,
  );
  const done = { analyzed: false, vacuumed: false };
  if (!s) return done;
  if (s.vacuum) {
    await db.query('vacuum (analyze) tasks');
    return { analyzed: true, vacuumed: true };
  }
  if (s.analyze) {
    await db.query('analyze tasks');
    done.analyzed = true;
  }
  return done;
}
