/**
 * Evaluators attach only to an agent the caller can see in its own tenant. Another tenant's agent
 * id, an id of no agent and another user's private agent are 404 to PUT, GET and DELETE, write
 * nothing, and leave the owner's own attachment working. Migration 0066 drops the rows written
 * before that rule and makes the store refuse new ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import type { PgliteDb } from '../../src/db/pglite.ts';
import { createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { storeBefore } from '../helpers/store-before.ts';

const attach = { evaluators: [{ type: 'json_valid' }], sample_rate: 1 };

for (const store of stores) {
  describe(`evaluators of an agent on ${store}`, () => {
    let s: TestServer;
    let other: string;
    before(async () => {
      s = await startServer(store);
      other = (await createTenant(s, 'other-tenant')).adminKey;
    });
    after(() => s.close());

    it("refuses another tenant's agent id, and the owner attaches afterwards", async () => {
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'owned', model: 'mock/default' } });
      assert.equal(agent.status, 201, agent.text);
      const path = `/v1/agents/${agent.body.id}/evaluators`;

      const planted = await s.request('PUT', path, { key: other, body: attach });
      assert.equal(planted.status, 404, planted.text);
      assert.equal((await s.request('DELETE', path, { key: other })).status, 404);
      assert.equal((await s.request('GET', path, { key: other })).status, 404);
      const rows = await s.app.db.query('select 1 from agent_evaluators where agent_id = $1', [
        agent.body.id,
      ]);
      assert.equal(rows.length, 0, 'nothing was written for the other tenant');

      const own = await s.request('PUT', path, { body: attach });
      assert.equal(own.status, 200, own.text);
      assert.equal((await s.request('DELETE', path, { key: other })).status, 404);
      assert.equal((await s.request('GET', path)).status, 200, "the other tenant's DELETE removed nothing");
      assert.equal((await s.request('DELETE', path)).status, 204);
    });

    it('refuses an id of no agent', async () => {
      const path = `/v1/agents/${newId()}/evaluators`;
      assert.equal((await s.request('PUT', path, { body: attach })).status, 404);
      assert.equal((await s.request('DELETE', path)).status, 404);
    });

    it("refuses another user's private agent", async () => {
      const key = async (owner: string) => {
        const r = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } });
        assert.equal(r.status, 201, r.text);
        return r.body.secret as string;
      };
      const alice = await key('user:alice');
      const bob = await key('user:bob');
      const agent = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'alice-private', visibility: 'private' },
      });
      assert.equal(agent.status, 201, agent.text);
      const path = `/v1/agents/${agent.body.id}/evaluators`;
      assert.equal((await s.request('PUT', path, { key: alice, body: attach })).status, 200);
      assert.equal((await s.request('PUT', path, { key: bob, body: attach })).status, 404);
      assert.equal((await s.request('GET', path, { key: bob })).status, 404);
      assert.equal((await s.request('DELETE', path, { key: bob })).status, 404);
      assert.equal((await s.request('GET', path, { key: alice })).status, 200);
    });
  });
}

describe('migration 0066: evaluators belong to an agent of their tenant', () => {
  let db: PgliteDb;
  before(async () => {
    db = await storeBefore(66);
  });
  after(() => db.close());

  it('drops rows of a missing or foreign agent, keeps the rest, and refuses new foreign ones', async () => {
    const [a, b] = [newId(), newId()];
    await db.query("insert into tenants (id, name) values ($1, 'a'), ($2, 'b')", [a, b]);
    const [mine, theirs, gone] = [newId(), newId(), newId()];
    await db.query(
      "insert into agents (id, tenant_id, name, model) values ($1, $2, 'mine', 'mock/default'), ($3, $4, 'theirs', 'mock/default')",
      [mine, a, theirs, b],
    );
    const plant = (agent: string, tenant: string) =>
      db.query(
        `insert into agent_evaluators (agent_id, tenant_id, evaluators, sample_rate) values ($1, $2, '[]', 1)`,
        [agent, tenant],
      );
    await plant(mine, a);
    await plant(theirs, a); // tenant a on tenant b's agent
    await plant(gone, a); // no such agent
    await migrate(db);
    const left = await db.query<{ agent_id: string }>('select agent_id from agent_evaluators');
    assert.deepEqual(
      left.map((r) => r.agent_id),
      [mine],
    );
    await assert.rejects(plant(theirs, a), /foreign key/);
    await assert.rejects(plant(gone, a), /foreign key/);
    await plant(theirs, b);
    await db.query('delete from agents where id = $1', [theirs]);
    assert.equal((await db.query('select 1 from agent_evaluators where agent_id = $1', [theirs])).length, 0);
  });
});
