import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queryable } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { claimBatch } from '../../src/tasks/claim.ts';
import { completeTasks } from '../../src/tasks/complete.ts';
import { enqueueMany } from '../../src/tasks/enqueue.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/**
 * The queue's hot statements keep their plans whatever the statistics say (migration 0016). The
 * case that matters: statistics taken while the queue was nearly empty, then a burst. Left to the
 * planner, a claim then reads and sorts the whole backlog, and a completion scans the table; pinned,
 * each touches a few blocks per task. Blocks, not time, so the assertions do not depend on the machine.
 */
for (const store of stores) {
  describe(`queue plans on ${store}`, () => {
    let s: TestServer;
    const backlog = 4000;
    /** Shared blocks (hit or read) that a statement touched, functions' own work included. */
    const blocksOf = async (sql: string, params: unknown[]) => {
      const [row] = await s.app.db.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(
        `explain (analyze, buffers, format json) ${sql}`,
        params,
      );
      const plan = row!['QUERY PLAN'][0].Plan;
      return plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!;
    };
    const tablePages = async () => {
      const [row] = await s.app.db.query<{ pages: number }>(
        `select (pg_relation_size('tasks') / current_setting('block_size')::int)::int as pages`,
      );
      return row!.pages;
    };

    before(async () => {
      s = await startServer(store, { tasks: { workers: 0 } });
      const { db } = s.app;
      await db.query('analyze tasks'); // the statistics of an empty queue
      const agentId = newId();
      for (let i = 0; i < backlog; i += 1000) {
        await enqueueMany(
          db,
          s.app.defaultTenantId,
          Array.from({ length: 1000 }, (_, j) => ({
            id: newId(),
            agent_id: agentId,
            task_type: 'default',
            title: `burst ${i + j}`,
            payload: { text: 'x'.repeat(100) },
            priority: 0,
          })),
        );
      }
    });
    after(() => s.close());

    it('claims and completes a batch from a deep backlog touching a few blocks per task', async () => {
      const { db } = s.app;
      const pages = await tablePages();
      assert.ok(pages > 100, `the backlog spans ${pages} pages`);
      const claim = (owner: string) =>
        blocksOf('select * from task_claim_rows($1, 5, 2147483647, 30)', [owner]);
      const complete = async (owner: string, fn = 'task_complete_rows') => {
        const held = await db.query<{ id: string; attempts: number }>(
          'select id, attempts from tasks where lease_owner = $1',
          [owner],
        );
        assert.equal(held.length, 5);
        return blocksOf(`select * from ${fn}($1, $2, $3, $4, $5, $6, $7, $8)`, [
          owner,
          held.map(() => s.app.defaultTenantId),
          held.map((t) => t.id),
          held.map((t) => t.attempts),
          held.map(() => '{}'),
          held.map(() => null),
          held.map(() => 1),
          held.map(() => newId()),
        ]);
      };
      // The first calls load the catalogs and plan the functions: their blocks are not the plan's.
      await claim('warm-up');
      await complete('warm-up');

      const claimBlocks = await claim('w');
      assert.ok(claimBlocks < pages / 2, `a claim of 5 touched ${claimBlocks} blocks of ${pages}`);
      const completeBlocks = await complete('w');
      assert.ok(completeBlocks < pages / 2, `a completion of 5 touched ${completeBlocks} blocks of ${pages}`);
      const [done] = await db.query<{ n: number }>(
        `select count(*)::int as n from tasks where status = 'completed'`,
      );
      assert.equal(done!.n, 10);
      // A type with `retention: delete` deletes its rows instead, pinned the same way (warmed up too).
      await claim('warm-up-d');
      await complete('warm-up-d', 'task_delete_rows');
      await claim('d');
      const before = await db.query('select 1 from tasks');
      const deleteBlocks = await complete('d', 'task_delete_rows');
      assert.ok(deleteBlocks < pages / 2, `a deletion of 5 touched ${deleteBlocks} blocks of ${pages}`);
      assert.equal((await db.query('select 1 from tasks')).length, before.length - 5);
    });

    it('claims and completes through the whole statements the worker sends, touching few blocks', async () => {
      const { db } = s.app;
      const pages = await tablePages();
      // Runs each statement it is given under EXPLAIN ANALYZE and keeps the blocks its plan touched:
      // the functions' work and whatever joins the statement wraps around them.
      const blocks: number[] = [];
      const explaining: Queryable = {
        query: async <R>(sql: string, params?: readonly unknown[]) => {
          const [row] = await db.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(
            `explain (analyze, buffers, format json) ${sql}`,
            params,
          );
          const plan = row!['QUERY PLAN'][0].Plan;
          blocks.push(plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!);
          return [] as R[];
        },
        exec: (sql) => db.exec(sql),
      };
      const options = { owner: 'whole', limit: 5, leaseSeconds: 30, tenantMaxRunning: 0 };
      await claimBatch(explaining, { ...options, owner: 'warm-up-whole' });
      await claimBatch(explaining, options);
      const claimBlocks = blocks.at(-1)!;
      assert.ok(claimBlocks < pages / 2, `a claim of 5 touched ${claimBlocks} blocks of ${pages}`);
      const { tasks } = await claimBatch(db, { ...options, owner: 'whole-2' });
      assert.equal(tasks.length, 5);
      const done = tasks.map((t) => ({ ...t, result: {}, summary: null, durationMs: 1 }));
      await completeTasks(explaining, 'whole-2', done);
      const completeBlocks = blocks.at(-1)!;
      assert.ok(completeBlocks < pages / 2, `a completion of 5 touched ${completeBlocks} blocks of ${pages}`);
    });

    it('holds a lease exactly while a task is in progress', async () => {
      const { db } = s.app;
      const [pending] = await db.query<{ id: string }>(
        `select id from tasks where status = 'pending' limit 1`,
      );
      await assert.rejects(
        db.query(`update tasks set status = 'in_progress' where id = $1`, [pending!.id]),
        /tasks_lease_while_running/,
      );
      await assert.rejects(
        db.query(`update tasks set lease_owner = 'w' where id = $1`, [pending!.id]),
        /tasks_lease_while_running/,
      );
    });
  });
}
