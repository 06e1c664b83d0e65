import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { PgliteDb } from '../../src/db/pglite.ts';
import { LocalBus } from '../../src/events/bus.ts';
import { readEvents } from '../../src/events/log.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Announcer, insertRunEvents, RunEventWriter } from '../../src/runtime/runs/events.ts';
import { openTestPglite } from '../helpers/pglite-snapshot.ts';

const tenant = '00000000-0000-7000-8000-000000000001';
const session = '00000000-0000-7000-8000-000000000002';
const run = '00000000-0000-7000-8000-000000000003';

describe('a run event writer', () => {
  let db: PgliteDb;
  before(async () => {
    db = await openTestPglite();
    await db.query(`insert into tenants (id, name) values ($1, 'events')`, [tenant]);
    await db.query(`insert into sessions (id, tenant_id, agent_id) values ($1, $2, $2)`, [session, tenant]);
    await db.query(
      `insert into runs (id, tenant_id, session_id, agent_id, status, input, lease_owner)
       values ($1, $2, $3, $2, 'running', 'hi', 'here')`,
      [run, tenant, session],
    );
  });
  after(() => db.close());
  const newWriter = () =>
    new RunEventWriter(db, new Announcer(new LocalBus(), createLogger('silent')), tenant, run, 'here');

  it('writes an event emitted with its step, and what follows it, only with the statement that records the step', async () => {
    const writer = newWriter();
    writer.emit('tool_call', { id: 'c1' });
    await tick();
    writer.emit('tool_result', { id: 'c1' }, true);
    writer.emit('text', { delta: 'a' });
    await tick();
    await tick();
    // `record` waits for a batch in flight, then hands over what is left to the step's statement.
    let handed: string[] = [];
    await writer.record(async (buffered) => {
      handed = buffered.map((e) => e.type);
      return undefined;
    });
    assert.deepEqual(handed, ['tool_result', 'text']);
    assert.deepEqual(
      (await readEvents(db, run)).map((e) => e.type),
      ['tool_call'],
    );
  });

  it('delivers events in seq order while a step is recorded: what is emitted meanwhile waits for it', async () => {
    // As a DAG's parallel nodes do: one node's step is being recorded while another emits. The
    // step's statement has written its event but its answer comes late; the other node's event must
    // not be written and delivered before it.
    const writer = newWriter();
    const delivered: number[] = [];
    writer.subscribe({ event: (e) => delivered.push(e.seq), end: () => {} });
    writer.emit('node_end', { agent: 'draft' });
    const step = writer.record(async (buffered) => {
      const written = await insertRunEvents(db, tenant, run, buffered, 'here');
      writer.emit('node_start', { agent: 'audit' });
      for (let i = 0; i < 5; i++) await tick();
      return written && { events: written };
    });
    await step;
    for (let i = 0; i < 5; i++) await tick();
    await writer.record(async () => undefined);
    const logged = (await readEvents(db, run)).map((e) => e.seq);
    assert.equal(delivered.length, 2, `${delivered}`);
    assert.deepEqual(delivered, logged.slice(-2), 'delivered as logged');
    assert.ok(delivered[0]! < delivered[1]!, `in seq order: ${delivered}`);
  });
});
