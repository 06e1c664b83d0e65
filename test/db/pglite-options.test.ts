import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { PgliteDb } from '../../src/db/pglite.ts';

describe('PGlite store options', () => {
  it('sets the buffer cache when asked and keeps PGlite’s own otherwise', async () => {
    const sized = await PgliteDb.open('memory://', { sharedBuffersMb: 256 });
    const plain = await PgliteDb.open('memory://');
    try {
      const show = async (db: PgliteDb) =>
        (await db.query<{ shared_buffers: string }>('show shared_buffers'))[0]!.shared_buffers;
      assert.equal(await show(sized), '256MB');
      assert.equal(await show(plain), '128MB');
      // The rest of the start parameters still hold.
      const [row] = await sized.query<{ search_path: string }>('show search_path');
      assert.equal(row!.search_path, 'public');
    } finally {
      await sized.close();
      await plain.close();
    }
  });

  it('starts a new store from a saved data directory, where migrate() then has nothing to apply', async () => {
    const first = await PgliteDb.open('memory://');
    let seed: Blob;
    try {
      assert.ok((await migrate(first)).length > 0);
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
