/**
 * A process renews the leases of every run it executes (src/runtime/runs/store.ts `renewLeases`),
 * a statement per batch of them: each of more runs than a batch holds is renewed, and nothing else —
 * not another process's run, not a run no longer running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RENEW_BATCH, RunStore } from '../../src/runtime/runs/store.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`lease renewal of many runs, on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
    });
    after(() => s.close());

    /** `n` running runs leased to `owner` until now, each in a session of its own. */
    const leased = async (owner: string, n: number) => {
      const rows = await s.app.db.query<{ id: string }>(
        `with s as (
           insert into sessions (id, tenant_id, agent_id)
           select gen_random_uuid(), $1, gen_random_uuid() from generate_series(1, $3)
           returning id, tenant_id, agent_id
         )
         insert into runs (id, tenant_id, session_id, agent_id, status, input, lease_owner, lease_expires_at, started_at)
         select gen_random_uuid(), tenant_id, id, agent_id, 'running', 'hello', $2, now(), now() from s
         returning id`,
        [s.app.defaultTenantId, owner, n],
      );
      return rows.map((r) => r.id);
    };
    /** Of `ids`, the runs whose lease was extended past `since` (the store's clock before renewing). */
    const renewedOf = async (ids: string[], since: string) => {
      const [row] = await s.app.db.query<{ n: number }>(
        `select count(*)::int as n from runs where id = any($1::uuid[]) and lease_expires_at > $2::timestamptz`,
        [ids, since],
      );
      return row!.n;
    };

    it('renews each run of more than one batch, and no other process’s or ended run', async () => {
      const ours = await leased('this-process', RENEW_BATCH * 2 + 7);
      const theirs = await leased('another-process', 3);
      const ended = ours.slice(0, 5);
      await s.app.db.query(`update runs set status = 'completed' where id = any($1::uuid[])`, [ended]);
      // Leased until their insert: a lease later than this moment was renewed, however slow the run.
      const [clock] = await s.app.db.query<{ since: string }>('select clock_timestamp()::text as since');
      await new RunStore(s.app.db).renewLeases('this-process', 30, [...ours, ...theirs]);
      const { since } = clock!;
      assert.equal(await renewedOf(ours.slice(5), since), ours.length - 5, 'every run still running here');
      assert.equal(await renewedOf(ended, since), 0, 'ended runs keep the lease they had');
      assert.equal(await renewedOf(theirs, since), 0, 'another process’s runs are not renewed by this one');
    });
  });
}
