/**
 * The baseline a new embedded store starts from (src/db/seed.ts): a store made from it, its newer
 * migrations applied on top, has the schema of one migrated from empty. The comparison reads the
 * catalog (tables, columns, constraints, indexes, functions, triggers, views, sequences, types,
 * extensions, policies, row counts), and is shown to see a missing migration.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { PgliteDb } from '../../src/db/pglite.ts';
import { seedFor, seedMatches, writeSeed } from '../../src/db/seed.ts';
import { tsLoaderArgs } from '../helpers/server.ts';

/** The user schemas' objects, each as one line of text, sorted: what `pg_dump --schema-only` would differ on. */
async function schemaOf(db: Db): Promise<Record<string, string[]>> {
  const user = "n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'";
  const lines = async (sql: string) => (await db.query<{ line: string }>(sql)).map((r) => r.line).sort();
  const relations = await db.query<{ rel: string }>(
    `select format('%I.%I', n.nspname, c.relname) as rel from pg_class c
       join pg_namespace n on n.oid = c.relnamespace where ${user} and c.relkind in ('r', 'p')`,
  );
  const counts: string[] = [];
  for (const { rel } of relations) {
    const [row] = await db.query<{ n: number }>(`select count(*)::int as n from ${rel}`);
    counts.push(`${rel} ${row?.n}`);
  }
  return {
    relations: await lines(
      `select concat_ws(' ', n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions::text) as line
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${user}`,
    ),
    columns: await lines(
      `select concat_ws(' ', a.attrelid::regclass::text, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid)) as line
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where ${user} and a.attnum > 0 and not a.attisdropped`,
    ),
    constraints: await lines(
      `select concat_ws(' ', co.conrelid::regclass::text, co.conname, pg_get_constraintdef(co.oid)) as line
         from pg_constraint co join pg_namespace n on n.oid = co.connamespace where ${user}`,
    ),
    indexes: await lines(
      `select concat_ws(' ', schemaname, indexname, indexdef) as line from pg_indexes n
        where n.schemaname not in ('pg_catalog', 'information_schema')`,
    ),
    functions: await lines(
      `select pg_get_functiondef(p.oid) as line from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where ${user} and p.prokind in ('f', 'p')
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
    ),
    triggers: await lines(
      'select pg_get_triggerdef(t.oid) as line from pg_trigger t where not t.tgisinternal',
    ),
    views: await lines(
      `select concat_ws(' ', schemaname, viewname, definition) as line from pg_views n
        where n.schemaname not in ('pg_catalog', 'information_schema')`,
    ),
    sequences: await lines(
      `select concat_ws(' ', schemaname, sequencename, data_type, start_value, increment_by, last_value) as line
         from pg_sequences`,
    ),
    types: await lines(
      `select concat_ws(' ', n.nspname, t.typname, t.typtype,
                (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)) as line
         from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where ${user} and t.typtype in ('e', 'd', 'c') and (t.typtype <> 'c' or t.typrelid = 0 or
              (select relkind from pg_class where oid = t.typrelid) = 'c')`,
    ),
    extensions: await lines("select concat_ws(' ', extname, extversion) as line from pg_extension"),
    policies: await lines(
      `select concat_ws(' ', schemaname, tablename, policyname, cmd, qual, with_check) as line from pg_policies`,
    ),
    migrations: await lines("select concat_ws(' ', version, name) as line from agentry_migrations"),
    rows: counts.sort(),
  };
}

describe('the store seed', () => {
  const migrations = listMigrations();
  const tmp = mkdtempSync(path.join(tmpdir(), 'agentry-seed-'));
  let migrated: Record<string, string[]>;
  before(async () => {
    const db = await PgliteDb.open('memory://');
    try {
      await migrate(db);
      migrated = await schemaOf(db);
    } finally {
      await db.close();
    }
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('a store from the seed the build makes (every migration, gzip) has the schema of one migrated from empty', async () => {
    for (const part of ['columns', 'constraints', 'indexes', 'functions', 'rows'])
      assert.ok(migrated[part]?.length, `the comparison reads the ${part}`);
    const file = path.join(tmp, 'all.tar.gz');
    await writeSeed(file, { gzip: true });
    assert.ok(seedMatches(file, migrations));
    const db = await PgliteDb.open(path.join(tmp, 'from-all'), { seed: await seedFor(file) });
    try {
      assert.deepEqual(await migrate(db), [], 'nothing left to apply');
      assert.deepEqual(await schemaOf(db), migrated);
    } finally {
      await db.close();
    }
  });

  it('a seed older than the migrations is topped up by the newer ones, to the same schema', async () => {
    const file = path.join(tmp, 'older.tar.gz');
    const older = migrations.slice(0, -3);
    await writeSeed(file, { gzip: true, migrations: older });
    assert.ok(seedMatches(file, migrations), 'its migrations are the first of today’s');
    const db = await PgliteDb.open('memory://', { seed: await seedFor(file) });
    try {
      // The comparison sees what the seed lacks: without the top-up the schemas differ.
      const stale = await schemaOf(db);
      assert.notDeepEqual(stale.migrations, migrated.migrations);
      assert.notDeepEqual({ ...stale, migrations: [] }, { ...migrated, migrations: [] });
      const applied = await migrate(db);
      assert.deepEqual(
        applied.map((m) => m.version),
        migrations.slice(-3).map((m) => m.version),
      );
      assert.deepEqual(await schemaOf(db), migrated);
    } finally {
      await db.close();
    }
  });

  it('is not taken when one of its migrations was edited since, or it has no manifest', async () => {
    const file = path.join(tmp, 'older.tar.gz');
    const edited = migrations.map((m, i) => (i === 1 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    assert.equal(seedMatches(file, edited), false);
    assert.equal(seedMatches(file, migrations.slice(0, 10)), false, 'more migrations than the checkout has');
    const bare = path.join(tmp, 'bare.tar');
    writeFileSync(bare, '');
    assert.equal(seedMatches(bare, migrations), false);
  });

  it('leaves the process able to take a heap snapshot once a store is made from it', () => {
    // A file-backed blob (fs.openAsBlob) read to its end made Node crash on the next snapshot.
    const script = `
      import v8 from 'node:v8';
      import { seedFor } from ${JSON.stringify(new URL('../../src/db/seed.ts', import.meta.url).href)};
      import { PgliteDb } from ${JSON.stringify(new URL('../../src/db/pglite.ts', import.meta.url).href)};
      const db = await PgliteDb.open('memory://', { seed: await seedFor(process.argv[1]) });
      await db.query('select 1');
      v8.writeHeapSnapshot(process.argv[2]);
      await db.close();`;
    const out = path.join(tmp, 'after-seed.heapsnapshot');
    const child = spawnSync(
      process.execPath,
      [...tsLoaderArgs, '--input-type=module', '-e', script, path.join(tmp, 'older.tar.gz'), out],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(child.signal, null, `the process ended by ${child.signal}`);
    assert.equal(child.status, 0, child.stderr);
    assert.ok(statSync(out).size > 0, 'the snapshot is written');
  });

  it('openDb starts a new data dir from the configured seed, and `none` from an empty store', async () => {
    const file = path.join(tmp, 'older.tar.gz');
    const seeded = await openDb({ data_dir: path.join(tmp, 'seeded'), pool_max: 1, pglite_seed_file: file });
    try {
      assert.deepEqual(
        (await migrate(seeded)).map((m) => m.version),
        migrations.slice(-3).map((m) => m.version),
      );
    } finally {
      await seeded.close();
    }
    // Opened again: an existing store ignores the seed (PGlite would refuse to unpack it over one).
    const again = await openDb({ data_dir: path.join(tmp, 'seeded'), pool_max: 1, pglite_seed_file: file });
    await again.close();
    const empty = await openDb({ data_dir: 'memory://', pool_max: 1, pglite_seed_file: 'none' });
    try {
      const tables = await empty.query("select 1 from pg_tables where tablename = 'agentry_migrations'");
      assert.equal(tables.length, 0);
    } finally {
      await empty.close();
    }
  });
});
