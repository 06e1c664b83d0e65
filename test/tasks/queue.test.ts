import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.ts';
import { systemActor } from '../../src/events/journal.ts';
import { readEvents } from '../../src/events/log.ts';
import { claimTasks } from '../../src/tasks/claim.ts';
import { completeTasks } from '../../src/tasks/complete.ts';
import { enqueueMany } from '../../src/tasks/enqueue.ts';
import { failTask } from '../../src/tasks/fail.ts';
import { HandlerRegistry } from '../../src/tasks/handlers.ts';
import { reapExpiredLeases } from '../../src/tasks/reap.ts';
import { Worker } from '../../src/tasks/worker.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { eventually } from './helpers.ts';

for (const store of stores) {
  describe(`queue mechanics on ${store}`, () => {
    let s: TestServer;
    const agentId = newId();
    const claim = (owner: string, limit: number, cap = 0, lease = 30) =>
      claimTasks(s.app.db, { owner, limit, leaseSeconds: lease, tenantMaxRunning: cap });
    /** Waits until the task's lease has run out by the store's clock, the one the sweep reads. */
    const leaseLapsed = (taskId: string) =>
      eventually(
        async () => {
          const [row] = await s.app.db.query<{ lapsed: boolean }>(
            'select lease_expires_at < now() as lapsed from tasks where id = $1',
            [taskId],
          );
          return row?.lapsed || undefined;
        },
        15_000,
        'the lease to lapse',
      );
    /** A worker on the test server's store: 60 s leases, no retry backoff, no tenant cap. */
    const workerFor = (handlers: HandlerRegistry, o: { concurrency: number; claimBatch: number }) => {
      const { bus, log } = s.app.services;
      const { db } = s.app;
      return new Worker({
        db,
        bus,
        log,
        handlers,
        ...o,
        leaseSeconds: 60,
        pollSeconds: 1,
        retryBaseSeconds: 0,
        retryCapSeconds: 0,
        tenantMaxRunning: 0,
      });
    };
    const load = (tenantId: string, n: number, priority = (_i: number) => 0, title = 't') =>
      enqueueMany(
        s.app.db,
        tenantId,
        Array.from({ length: n }, (_, i) => ({
          id: newId(),
          agent_id: agentId,
          task_type: 'default',
          title: `${title}-${i}`,
          payload: { i },
          priority: priority(i),
        })),
      );
    before(async () => {
      // No in-process workers: the test drives the queue's statements itself.
      s = await startServer(store, { tasks: { workers: 0 } });
    });
    after(() => s.close());
    // Each case starts from an empty queue.
    beforeEach(() => s.app.db.query('delete from tasks'));

    it('never hands one task to two concurrent claimers', async () => {
      await load(s.app.defaultTenantId, 600);
      const seen = new Map<string, string>();
      const claimers = Array.from({ length: 16 }, async (_, c) => {
        const owner = `claimer-${c}`;
        for (;;) {
          const batch = await claim(owner, 7);
          if (batch.length === 0) return;
          for (const t of batch) {
            assert.ok(!seen.has(t.id), `task ${t.id} claimed by ${seen.get(t.id)} and ${owner}`);
            seen.set(t.id, owner);
          }
          await completeTasks(
            s.app.db,
            owner,
            batch.map((t) => ({
              ...t,
              result: { by: owner },
              summary: null,
              durationMs: 1,
            })),
          );
        }
      });
      await Promise.all(claimers);
      assert.equal(seen.size, 600);
      const [row] = await s.app.db.query<{ n: number; owners: number }>(
        `select count(*)::int as n, count(distinct result->>'by')::int as owners from tasks where status = 'completed'`,
      );
      assert.equal(row!.n, 600);
      if (store === 'postgres') assert.ok(row!.owners > 1, 'several claimers took part');
    });

    it('claims by priority (higher first), then run_at, then creation', async () => {
      await load(s.app.defaultTenantId, 4, (i) => [0, 5, -1, 5][i]!, 'prio');
      const order: string[] = [];
      for (let i = 0; i < 4; i++) order.push(...(await claim('p', 1)).map((t) => t.title));
      assert.deepEqual(order, ['prio-1', 'prio-3', 'prio-0', 'prio-2']);
    });

    it('caps running tasks per tenant so a deep backlog cannot starve another tenant', async () => {
      const other = await s.app.services.tenants.create(`cap-${store}`, systemActor(s.app.defaultTenantId));
      await load(s.app.defaultTenantId, 50, () => 10, 'a'); // higher priority, enqueued first
      await load(other.id, 3, () => 0, 'b');
      const byTenant = (list: { tenant_id: string }[], id: string) =>
        list.filter((t) => t.tenant_id === id).length;
      // The batch is trimmed to the cap of the tenant at the head of the queue…
      const first = await claim('w1', 10, 2);
      assert.equal(first.length, 2);
      assert.equal(byTenant(first, s.app.defaultTenantId), 2);
      // …and the next claim skips that tenant: the small tenant is not starved by the backlog.
      const second = await claim('w1', 10, 2);
      assert.equal(byTenant(second, other.id), 2, 'the small tenant runs');
      assert.equal(byTenant(second, s.app.defaultTenantId), 0);
      assert.equal((await claim('w2', 10, 2)).length, 0, 'both tenants at their cap');
      const a = first.find((t) => t.tenant_id === s.app.defaultTenantId)!;
      await completeTasks(s.app.db, 'w1', [{ ...a, result: null, summary: null, durationMs: 1 }]);
      const next = await claim('w2', 10, 2);
      assert.equal(next.length, 1);
      assert.equal(next[0]!.tenant_id, s.app.defaultTenantId);
    });

    it('sweeps an expired lease as a new attempt and discards the lost worker’s late result', async () => {
      await load(s.app.defaultTenantId, 1, () => 0, 'lease');
      const [mine] = await claim('lost-worker', 1, 0, 0.2);
      assert.ok(mine);
      await leaseLapsed(mine.id);
      const reaped = await reapExpiredLeases(s.app.db);
      assert.equal(reaped.requeued, 1);
      const [again] = await claim('live-worker', 1);
      assert.equal(again!.id, mine.id);
      assert.equal(again!.attempt, 2);
      const late = await completeTasks(s.app.db, 'lost-worker', [
        { ...mine, attempt: 1, result: { stale: true }, summary: null, durationMs: 1 },
      ]);
      assert.equal(late.length, 0, 'the late result matched nothing');
      const lateFail = await failTask(s.app.db, 'lost-worker', {
        ...mine,
        attempt: 1,
        error: 'late',
        retryable: true,
        retryDelayMs: 0,
        durationMs: 1,
      });
      assert.equal(lateFail, undefined);
      const done = await completeTasks(s.app.db, 'live-worker', [
        { ...again!, result: { fresh: true }, summary: 'ok', durationMs: 1 },
      ]);
      assert.equal(done.length, 1);
      const [row] = await s.app.db.query<{ status: string; result: unknown; attempts: number }>(
        'select status, result, attempts from tasks where id = $1',
        [mine.id],
      );
      assert.deepEqual(row, { status: 'completed', result: { fresh: true }, attempts: 2 });
      const types = (await readEvents(s.app.db, mine.id)).map((e) => e.type);
      assert.deepEqual(types, ['created', 'started', 'attempt_failed', 'started', 'completed']);
    });

    it('fails a task whose lease expires on its last attempt', async () => {
      const db = s.app.db;
      await load(s.app.defaultTenantId, 1, () => 0, 'last');
      await db.query(`update tasks set max_attempts = 1 where title = 'last-0'`);
      const [t] = await claim('dying', 1, 0, 0.1);
      await leaseLapsed(t!.id);
      assert.equal((await reapExpiredLeases(db)).failed, 1);
      const [row] = await db.query<{ status: string; error_message: string }>(
        'select status, error_message from tasks where id = $1',
        [t!.id],
      );
      assert.equal(row!.status, 'failed');
      assert.match(row!.error_message, /lease expired: worker dying/);
    });

    it('hands unfinished tasks back on graceful shutdown instead of letting the lease run out', async () => {
      const { db } = s.app;
      const handlers = new HandlerRegistry().setDefault(
        (_task, ctx) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      );
      const worker = workerFor(handlers, { concurrency: 2, claimBatch: 10 });
      await worker.start();
      await load(s.app.defaultTenantId, 3, () => 0, 'handback');
      await eventually(async () => (worker.active === 2 ? true : undefined), 30_000, 'two running');
      await worker.stop(50);
      const rows = await db.query<{ status: string; lease_owner: string | null; n: number }>(
        `select status, lease_owner, count(*)::int as n from tasks where title like 'handback-%'
         group by status, lease_owner`,
      );
      assert.deepEqual(rows, [{ status: 'pending', lease_owner: null, n: 3 }]);
      const [released] = await db.query<{ n: number }>(
        `select count(*)::int as n from events e join tasks t on t.id = e.stream_id
         where t.title like 'handback-%' and e.type = 'released'`,
      );
      assert.equal(released!.n, 2);
    });

    it('gives a handler that looks at its signal only after losing the attempt an aborted signal', async () => {
      const { db } = s.app;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const seen: Array<{ aborted: boolean; reason: string }> = [];
      const handlers = new HandlerRegistry().setDefault(async (_task, ctx) => {
        await gate; // busy elsewhere: it never touched ctx.signal before the shutdown took the task
        seen.push({ aborted: ctx.signal.aborted, reason: String(ctx.signal.reason) });
        return undefined;
      });
      const worker = workerFor(handlers, { concurrency: 1, claimBatch: 1 });
      await worker.start();
      await load(s.app.defaultTenantId, 1, () => 0, 'late-look');
      await eventually(async () => (worker.active === 1 ? true : undefined), 30_000, 'running');
      const stopped = worker.stop(50);
      await eventually(
        async () => {
          const [row] = await db.query<{ status: string }>(
            `select status from tasks where title = 'late-look-0'`,
          );
          return row?.status === 'pending' ? true : undefined;
        },
        30_000,
        'handed back',
      );
      release();
      await stopped;
      assert.deepEqual(seen, [{ aborted: true, reason: 'Error: worker shutting down' }]);
    });
  });
}
