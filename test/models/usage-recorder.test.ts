import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { UsageRecorder } from '../../src/models/usage.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { memoryStore } from '../helpers/pglite-snapshot.ts';
import { freshDatabase, stores } from '../helpers/server.ts';

for (const store of stores) {
  describe(`usage recorder on ${store}`, () => {
    let db: Db;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      const pg = store === 'postgres' ? await freshDatabase() : undefined;
      drop = pg?.drop;
      db = await openDb({ ...memoryStore(), pool_max: 2, ...(pg && { database_url: pg.url }) });
      await migrate(db);
    });
    after(async () => {
      await db.close();
      await drop?.();
    });

    it('writes every buffered row in one flush, however many inserts it takes', async () => {
      const usage = new UsageRecorder(db, createLogger('silent'));
      const tenantId = newId();
      await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, `usage-${tenantId}`]);
      const at = new Date();
      // More rows than one embedded insert takes (it writes in small slices).
      for (let i = 0; i < 237; i++) {
        usage.record({
          tenantId,
          agent: i % 2 ? 'even' : 'odd',
          requestedModel: 'up/m',
          model: 'up/m',
          inputTokens: 10,
          outputTokens: i,
          cost: 0.5,
          latencyMs: 1,
          requestId: `r${i}`,
          outcome: i % 10 === 0 ? 'error:bad_gateway' : 'ok',
          at,
        });
      }
      await usage.flush();
      const [count] = await db.query<{ n: number }>(
        'select count(*)::int as n from usage where tenant_id = $1',
        [tenantId],
      );
      assert.equal(count!.n, 237);
      const rows = await usage.query({
        tenantId,
        from: new Date(at.getTime() - 60_000),
        to: new Date(at.getTime() + 60_000),
      });
      assert.equal(
        rows.reduce((n, r) => n + r.requests, 0),
        237,
      );
      assert.equal(
        rows.reduce((n, r) => n + r.errors, 0),
        24,
      );
      assert.equal(
        rows.reduce((n, r) => n + r.output_tokens, 0),
        (236 * 237) / 2,
      );
    });

    it('a flush writes the rows it found; rows recorded meanwhile go in the flush queued after it', async () => {
      let inserts = 0;
      const counting: Db = Object.create(db);
      counting.query = ((...args: Parameters<Db['query']>) => {
        inserts += 1;
        return db.query(...args);
      }) as Db['query'];
      const usage = new UsageRecorder(counting, createLogger('silent'));
      const tenantId = newId();
      await db.query('insert into tenants (id, name) values ($1, $2)', [tenantId, `usage-${tenantId}`]);
      const record = (n: number) => {
        for (let i = 0; i < n; i++) {
          usage.record({
            tenantId,
            requestedModel: 'up/m',
            model: 'up/m',
            inputTokens: 1,
            outputTokens: 1,
            cost: 0,
            latencyMs: 1,
            outcome: 'ok',
            at: new Date(),
          });
        }
      };
      const stored = async () =>
        (
          await db.query<{ n: number }>('select count(*)::int as n from usage where tenant_id = $1', [
            tenantId,
          ])
        )[0]!.n;
      record(10);
      const first = usage.flush();
      record(5); // arrive while the first flush is in flight
      await first;
      // One insert, of the ten it found: it did not chase the five with another.
      assert.equal(inserts, 1);
      assert.equal(await stored(), 10);

      record(3);
      const again = usage.flush();
      record(4);
      const queued = usage.flush(); // comes while `again` is in flight
      assert.equal(usage.flush(), queued, 'callers during a flush share the queued one');
      await queued;
      assert.equal(await stored(), 22);
      assert.equal(inserts, 3);
      await again;
    });
  });
}
