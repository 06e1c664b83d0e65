/**
 * Migration 0051 on a store written before it: every agent gets one version, numbered as the agent
 * shows (1 when it was never changed), holding its whole present config.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import type { PgliteDb } from '../../src/db/pglite.ts';
import { storeBefore } from '../helpers/store-before.ts';

describe('migration 0051: a version for each agent that was there before', () => {
  let db: PgliteDb;
  before(async () => {
    db = await storeBefore(51);
  });
  after(() => db.close());

  it('backfills the present config under the present number', async () => {
    const tenant = newId();
    await db.query('insert into tenants (id, name) values ($1, $2)', [tenant, 'acme']);
    const fresh = newId();
    const changed = newId();
    await db.query(
      `insert into agents (id, tenant_id, name, model, system_prompt, tools, version, owner) values
         ($1, $3, 'fresh', 'mock/default', 'hello', '["calculator"]', 1, 'user:a'),
         ($2, $3, 'changed', 'mock/default', 'third try', '[]', 3, null)`,
      [fresh, changed, tenant],
    );
    await migrate(db);
    const rows = await db.query<{
      agent_id: string;
      version: number;
      config: Record<string, unknown>;
      author: string;
    }>('select agent_id, version, config, author from agent_versions where tenant_id = $1 order by version', [
      tenant,
    ]);
    assert.deepEqual(
      rows.map((r) => [r.agent_id, r.version, r.config.system_prompt, r.author]),
      [
        [fresh, 1, 'hello', 'system'],
        [changed, 3, 'third try', 'system'],
      ],
    );
    assert.deepEqual(rows[0]!.config.tools, ['calculator']);
    assert.equal(rows[0]!.config.name, 'fresh');
    assert.ok(!('owner' in rows[0]!.config) && !('id' in rows[0]!.config));
  });
});
