import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app.ts';
import { testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually } from '../helpers/eventually.ts';
import { oneConnectionDatabase } from '../helpers/limited-role.ts';

/** Open sockets and timers of this process, by kind. */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (/TCP|Timeout|Pipe/.test(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

const more = (now: Map<string, number>, then: Map<string, number>) =>
  [...now]
    .filter(([kind, n]) => n > (then.get(kind) ?? 0))
    .map(([kind, n]) => `${kind} ${then.get(kind) ?? 0}→${n}`);

const ready = process.env.DATABASE_URL && process.env.REDIS_URL;

describe('a start that fails halfway', {
  skip: !ready && 'needs DATABASE_URL and REDIS_URL',
  timeout: 120_000,
}, () => {
  let db: Awaited<ReturnType<typeof oneConnectionDatabase>>;
  before(async () => {
    db = await oneConnectionDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('closes what it opened (Redis, the pool, timers) and rethrows the cause', async () => {
    const config = testConfig({
      log_level: 'silent',
      redis_url: process.env.REDIS_URL,
      store: { database_url: db.url, pool_max: 1 },
      ops_team: { seed: false },
      sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
    });
    const opened = handles();
    await assert.rejects(createApp(config, { log: createLogger('silent') }), /too many connections/);
    // Sockets close asynchronously once ended: wait for them, with a deadline.
    await eventually(
      async () => (more(handles(), opened).length === 0 ? true : undefined),
      30_000,
      'the failed start to close what it opened',
    ).catch(() => assert.fail(`still open after the failed start: ${more(handles(), opened).join(', ')}`));
  });
});
