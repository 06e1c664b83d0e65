/**
 * Migration 0029 on a store written before it: isA configs that kept their `cloud_pool` wish in
 * `metadata.isa_env` get it as their env, and every config's metadata loses the key (the client's
 * own keys stay).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import type { PgliteDb } from '../../src/db/pglite.ts';
import { storeBefore } from '../helpers/store-before.ts';

describe('migration 0029: cloud_pool from metadata.isa_env to env', () => {
  let db: PgliteDb;
  before(async () => {
    db = await storeBefore(29);
  });
  after(() => db.close());

  it('moves the wish to env and gives the client its metadata back', async () => {
    const tenant = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenant, 'acme']);
    const agent = async (name: string, env: string, metadata: unknown) => {
      const id = newId();
      await db.query(
        "insert into agents (id, tenant_id, name, model, env, metadata) values ($1, $2, $3, 'mock/default', $4, $5::jsonb)",
        [id, tenant, name, env, JSON.stringify(metadata)],
      );
      return id;
    };
    const pooled = await agent('pooled', 'in_process', { isa_env: 'cloud_pool', team: 'ops' });
    const shared = await agent('shared', 'in_process', { isa_env: 'cloud_shared' });
    const deployed = await agent('deployed', 'pool', { isa_env: 'deployment', deployment_id: 'd-1' });
    const plain = await agent('plain', 'in_process', { team: 'ops' });

    const applied = await migrate(db);
    assert.deepEqual(
      applied.map((m) => m.version),
      listMigrations()
        .filter((m) => m.version >= 29)
        .map((m) => m.version),
    );
    const rows = await db.query<{ id: string; env: string; metadata: unknown }>(
      'select id, env, metadata from agents where tenant_id = $1',
      [tenant],
    );
    const byId = new Map(rows.map((r) => [r.id, [r.env, r.metadata]]));
    assert.deepEqual(byId.get(pooled), ['cloud_pool', { team: 'ops' }]);
    assert.deepEqual(byId.get(shared), ['in_process', {}]);
    assert.deepEqual(byId.get(deployed), ['pool', { deployment_id: 'd-1' }]);
    assert.deepEqual(byId.get(plain), ['in_process', { team: 'ops' }]);
  });
});
