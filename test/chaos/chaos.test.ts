import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type ChaosResults, reduced, runChaos } from './run.ts';
import { table } from './scenarios.ts';

/**
 * The reduced chaos run (`npm run chaos` is the full one; docs/chaos.md): real `agentry` processes
 * on a PostgreSQL cluster and a Redis of its own, through the five scenarios once; each test below
 * checks one scenario's figures.
 */

describe('chaos, reduced', { timeout: 600_000 }, () => {
  let r: ChaosResults;
  before(async () => {
    r = await runChaos(reduced);
    if (process.env.AGENTRY_TEST_LOG) console.log(table(r.rows));
  });

  it('1. loses no task and no run while workers are SIGKILLed; taken-over runs redo no finished step', () => {
    const { tasks, enqueue, followed, redone } = r.kill;
    const rows = table(r.rows);
    assert.equal(enqueue.ids.size, reduced.sizes.tasks, rows);
    assert.equal(tasks.completed, reduced.sizes.tasks, rows);
    assert.equal(tasks.missing + tasks.unfinished + tasks.failed, 0, rows);
    // Every run that began completes, on whichever process took it over; a chat whose process was
    // gone before any run began is an error the client saw, not a run.
    const began = followed.filter((f) => f.runId);
    assert.ok(began.length > 0, 'runs began');
    for (const f of followed) {
      if (!f.runId) assert.match(f.ended, /^chat request failed/);
      else assert.equal(f.ended, 'completed', `run ${f.runId} (${f.tag}) ended through its stream; ${rows}`);
    }
    assert.deepEqual(r.kill.runs, { completed: began.length }, rows);
    // Killed with a run in flight: another process carried it on from its last recorded step.
    assert.ok(redone.afterCrash > 0, rows);
    assert.equal(redone.answeredAgain, 0, `no answered model call sent again; ${rows}`);
    assert.equal(redone.toolRedone, 0, `no recorded tool result redone; ${rows}`);
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

  it('5. loses no task and no run through a rolling restart: drained runs carry on elsewhere', () => {
    const { tasks, followed, streams, redone, exits } = r.deploy;
    const rows = table(r.rows);
    // Keep-alive clients and open streams do not hold a drain past its deadline: every stop exits 0.
    assert.ok(exits.length > 0, rows);
    for (const e of exits) assert.deepEqual(e, { name: e.name, code: 0, signal: null }, rows);
    assert.equal(tasks.missing + tasks.unfinished + tasks.failed, 0, rows);
    const began = followed.filter((f) => f.runId);
    assert.ok(began.length > 0, rows);
    for (const f of began) assert.equal(f.ended, 'completed', `run ${f.runId} (${f.tag}); ${rows}`);
    assert.deepEqual(r.deploy.runs, { completed: began.length }, rows);
    assert.ok(redone.takenOver > 0, `a drained run was taken over; ${rows}`);
    // A drain stops at a step boundary: nothing is asked or run again.
    assert.equal(redone.askedAgain + redone.toolsAgain, 0, rows);
    assert.equal(streams.inexact, 0, `no stream missed or repeated an event:\n${streams.details.join('\n')}`);
  });

  it('follows streams with Last-Event-ID across a takeover, on another process, with no gap and no repeat', () => {
    const all = [...r.kill.followed, ...r.deploy.followed];
    assert.ok(
      all.some((f) => f.connections > 1),
      'some stream was cut with its process and resumed',
    );
    const details = [...r.kill.streams.details, ...r.deploy.streams.details].join('\n');
    assert.equal(r.kill.streams.inexact + r.deploy.streams.inexact, 0, `${table(r.rows)}\n${details}`);
  });
});
