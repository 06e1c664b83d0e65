import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { PostgresDb } from '../../src/db/postgres.ts';
import { freshDatabase } from '../helpers/server.ts';
import { type CliResult, runCli, tempDir } from './run-cli.ts';

const migrations = listMigrations();
const appliedCount = (r: CliResult) => Number(/applied (\d+) migration/.exec(r.stdout)?.[1] ?? 0);

describe('agentry migrate on the embedded store', () => {
  const tmp = tempDir('agentry-migrate-');
  after(() => tmp.remove());

  it('applies every migration once; a second run is a no-op', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    // An empty store, not the suite's migrated snapshot (run-cli.ts) or the built baseline.
    const env = { AGENTRY_PGLITE_SEED_FILE: 'none' };
    const first = await runCli(['migrate', '--data-dir', dataDir], { cwd: tmp.dir, env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `applied ${migrations.length} migration(s)\n`);
    for (const m of migrations) {
      assert.match(first.stderr, new RegExp(`applying ${String(m.version).padStart(4, '0')}_${m.name}`));
    }
    const second = await runCli(['migrate', '--data-dir', dataDir], { cwd: tmp.dir, env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'store is up to date\n');
    assert.doesNotMatch(second.stderr, /applying/);
  });
});

describe('agentry migrate on PostgreSQL', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  const drops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const drop of drops) await drop();
  });

  async function recorded(url: string) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (
        await client.query<{ version: number }>('select version from agentry_migrations order by version')
      ).rows;
    } finally {
      await client.end();
    }
  }

  it('applies every migration once; a second run is a no-op', async () => {
    const db = await freshDatabase();
    drops.push(db.drop);
    const env = { DATABASE_URL: db.url };
    const first = await runCli(['migrate'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(appliedCount(first), migrations.length);
    const second = await runCli(['migrate'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'store is up to date\n');
    assert.deepEqual(
      (await recorded(db.url)).map((r) => r.version),
      migrations.map((m) => m.version),
    );
  });

  it('two processes started at once on a fresh database both succeed, each migration applied once', async () => {
    const db = await freshDatabase();
    drops.push(db.drop);
    const env = { DATABASE_URL: db.url };
    const [a, b] = await Promise.all([runCli(['migrate'], { env }), runCli(['migrate'], { env })]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(appliedCount(a) + appliedCount(b), migrations.length, `${a.stdout}\n${b.stdout}`);
    assert.deepEqual(
      (await recorded(db.url)).map((r) => r.version),
      migrations.map((m) => m.version),
    );
  });

  // Two processes rarely start within the same millisecond, so the test above seldom lands both on
  // the very first statement at once. Here several connections do, every time: the first
  // `create table if not exists` is where unguarded concurrent starts collide in the catalog.
  it('several migrate() calls at the same instant on a fresh database all succeed', async () => {
    const db = await freshDatabase();
    drops.push(db.drop);
    const dbs = await Promise.all(Array.from({ length: 4 }, () => PostgresDb.open(db.url, { max: 2 })));
    try {
      const results = await Promise.allSettled(dbs.map((d) => migrate(d)));
      for (const r of results)
        assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      assert.equal(applied.length, migrations.length);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
    assert.deepEqual(
      (await recorded(db.url)).map((r) => r.version),
      migrations.map((m) => m.version),
    );
  });
});
