import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { type ChaosResults, reduced, runChaos } from './run.ts';
import { table } from './scenarios.ts';

/**
 * The reduced chaos run (`npm run chaos` is the full one; docs/chaos.md): real `agentry` processes
 * on a PostgreSQL cluster and a Redis of its own, through the five scenarios once; each test below
 * checks one scenario's figures.
 */
const haveServers = existsSync('/usr/lib/postgresql/15/bin/initdb');

describe('chaos, reduced', { skip: !haveServers && 'no PostgreSQL binaries', timeout: 300_000 }, () => {
  let r: ChaosResults;
  before(async () => {
    r = await runChaos(reduced);
    if (process.env.AGENTRY_TEST_LOG) console.log(table(r.rows));
  });

  it('1. loses no task while workers are SIGKILLed and restarted; runs end in a known state', () => {
    const { tasks, enqueue, followed } = r.kill;
    const rows = table(r.rows);
    assert.equal(enqueue.ids.size, reduced.sizes.tasks, rows);
    assert.equal(tasks.completed, reduced.sizes.tasks, rows);
    assert.equal(tasks.missing + tasks.unfinished + tasks.failed, 0, rows);
    // Until runs are durable, a run whose process dies fails (orphaned): it must end, not hang, and
    // its stream, followed from another process, must say so. A chat whose process died before the
    // run was named is an error the client saw, not a run.
    const started = followed.filter((f) => f.runId);
    assert.ok(started.length > 0, 'runs started');
    for (const f of followed) {
      if (!f.runId) assert.match(f.ended, /^chat request failed/);
      else assert.match(f.ended, /^(completed|failed)$/, `run ${f.runId} ended through its stream`);
    }
    const ended = Object.entries(r.kill.runs).reduce(
      (n, [k, v]) => n + (/^(completed|failed)/.test(k) ? v : 0),
      0,
    );
    assert.equal(ended, started.length, JSON.stringify(r.kill.runs));
  });

  it('2. answers 503 with Retry-After while PostgreSQL is down, never a 500, and recovers without a restart', () => {
    const { tallies, crashed, tasks, recoveryMs } = r.pg;
    const rows = table(r.rows);
    assert.ok(tallies.during.get('503 store_unavailable') > 0, rows);
    for (const t of Object.values(tallies)) assert.equal(t.bad5xx, 0, `${t}`);
    assert.deepEqual(crashed, []);
    assert.ok(recoveryMs >= 0, 'every process answers again');
    assert.equal(tasks.missing + tasks.unfinished + tasks.failed, 0, rows);
  });

  it("3. honours each tenant's fail policy while Redis is down, turns amber, and recovers", () => {
    const { tallies, amber, greenMs } = r.redis;
    const rows = table(r.rows);
    assert.ok(amber, 'health turned amber');
    assert.ok(greenMs >= 0, 'health green again');
    // Fail-open: served throughout. Fail-closed: refused with 503 once its held lease ran out.
    assert.equal(tallies.open.during.fiveXX, 0, `${tallies.open.during}`);
    assert.ok(tallies.open.during.get('200') > 0, `${tallies.open.during}`);
    assert.ok(tallies.closed.during.get('503 store_unavailable') > 0, `${tallies.closed.during}`);
    assert.equal(tallies.closed.during.bad5xx, 0, `${tallies.closed.during}`);
    assert.ok(tallies.closed.after.get('200') > 0, rows);
  });

  it('4. retries callbacks while the receiver is down and delivers each, signed, once it is back', () => {
    const { delivered, ids, badSignatures } = r.hook;
    assert.equal(ids.length, reduced.sizes.callbacks);
    assert.equal(delivered, ids.length, table(r.rows));
    assert.equal(badSignatures, 0);
  });

  it('5. loses no task through a rolling restart, and every stream ends exactly', () => {
    const { tasks, followed, streams } = r.deploy;
    const rows = table(r.rows);
    assert.equal(tasks.missing + tasks.unfinished + tasks.failed, 0, rows);
    assert.ok(
      followed.some((f) => f.runId),
      rows,
    );
    assert.equal(streams.inexact, 0, 'no stream missed or repeated an event');
    for (const f of followed) if (f.runId) assert.match(f.ended, /^(completed|failed)$/, rows);
  });

  it('resumes streams with Last-Event-ID on another process, with no gap and no repeat', () => {
    const all = [...r.kill.followed, ...r.deploy.followed];
    assert.ok(
      all.some((f) => f.connections > 1),
      'some stream was cut with its process and resumed',
    );
    assert.equal(r.kill.streams.inexact + r.deploy.streams.inexact, 0);
  });
});
