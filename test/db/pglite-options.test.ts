import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { PgliteDb } from '../../src/db/pglite.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

describe('PGlite store options', () => {
  it('sets the buffer cache and a small WAL when asked, and keeps PGlite’s own otherwise', async () => {
    const sized = await PgliteDb.open('memory://', {
      sharedBuffersMb: 256,
      wal: { segmentMb: 1, maxMb: 2 },
    });
    const plain = await PgliteDb.open('memory://');
    try {
      const show = async (db: PgliteDb, setting: string) =>
        (await db.query<Record<string, string>>(`show ${setting}`))[0]![setting];
      assert.equal(await show(sized, 'shared_buffers'), '256MB');
      assert.equal(await show(plain, 'shared_buffers'), '128MB');
      assert.equal(await show(sized, 'wal_segment_size'), '1MB');
      assert.equal(await show(sized, 'max_wal_size'), '2MB');
      assert.equal(await show(plain, 'wal_segment_size'), '16MB');
      // The rest of the start parameters still hold.
      const [row] = await sized.query<{ search_path: string }>('show search_path');
      assert.equal(row!.search_path, 'public');
    } finally {
      await sized.close();
      await plain.close();
    }
  });

  it('starts a new store from a saved data directory, where migrate() then has nothing to apply', async () => {
    // From the run's snapshot (migrate() a no-op), else empty and migrated here.
    const first = await openTestPglite();
    let seed: Blob;
    try {
      await migrate(first);
      await first.query("insert into tenants (id, name) values ($1, 'seeded')", [newId()]);
      seed = await first.dumpDataDir();
    } finally {
      await first.close();
    }
    const second = await PgliteDb.open('memory://', { seed });
    try {
      assert.deepEqual(await migrate(second), []);
      const rows = await second.query<{ name: string }>('select name from tenants');
      assert.deepEqual(
        rows.map((r) => r.name),
        ['seeded'],
      );
    } finally {
      await second.close();
    }
  });

  it('refuses a size outside 16 to 1024 MB', async () => {
    await assert.rejects(PgliteDb.open('memory://', { sharedBuffersMb: 8 }), /16 to 1024/);
    await assert.rejects(PgliteDb.open('memory://', { sharedBuffersMb: 2048 }), /16 to 1024/);
  });
});
