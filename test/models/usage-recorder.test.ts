import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/db/ids.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { UsageRecorder } from '../../src/models/usage.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freshDatabase, stores } from '../helpers/server.ts';

for (const store of stores) {
  describe(`usage recorder on ${store}`, () => {
    let db: Db;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      const pg = store === 'postgres' ? await freshDatabase() : undefined;
      drop = pg?.drop;
      db = await openDb({ data_dir: 'memory://', pool_max: 2, ...(pg && { database_url: pg.url }) });
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
  });
}
