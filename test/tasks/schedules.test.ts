import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Scheduler } from '../../src/tasks/scheduler.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent } from './helpers.ts';

for (const store of stores) {
  describe(`schedules on ${store}`, () => {
    let s: TestServer;
    let agent: { id: string };
    const schedulers = () =>
      Array.from(
        { length: 4 },
        () => new Scheduler({ db: s.app.db, log: s.app.services.log, pollSeconds: 1 }),
      );
    const tasksOf = async (scheduleId: string) =>
      s.app.db.query<{ id: string; title: string; payload: unknown }>(
        'select id, title, payload from tasks where created_by = $1',
        [`schedule:${scheduleId}`],
      );

    before(async () => {
      // No in-process scheduler: the test ticks explicitly, from several schedulers at once.
      s = await startServer(store, { tasks: { workers: 0 } });
      agent = await createAgent(s, 'cron-agent');
    });
    after(() => s.close());

    it('creates, lists, gets, updates, pauses, resumes and deletes', async () => {
      const created = await s.request('POST', '/v1/schedules', {
        body: {
          name: 'daily',
          cron: '0 9 * * *',
          timezone: 'Europe/Paris',
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'Morning digest',
          payload: { text: 'news' },
        },
      });
      assert.equal(created.status, 201, created.text);
      const next = new Date(created.body.next_run_at);
      assert.ok(next.getTime() > Date.now());
      const parisHour = Number(
        new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hour12: false }).format(
          next,
        ),
      );
      assert.equal(parisHour, 9);
      assert.equal(next.getUTCMinutes(), 0);
      const id = created.body.id;
      assert.equal((await s.request('GET', `/v1/schedules/${id}`)).body.name, 'daily');
      assert.equal((await s.request('GET', '/v1/schedules')).body.total, 1);
      const patched = await s.request('PATCH', `/v1/schedules/${id}`, { body: { title: 'Digest' } });
      assert.equal(patched.body.title, 'Digest');
      assert.equal((await s.request('POST', `/v1/schedules/${id}/pause`)).body.paused, true);
      assert.equal((await s.request('POST', `/v1/schedules/${id}/resume`)).body.paused, false);
      assert.equal((await s.request('POST', '/v1/schedules', { body: { ...created.body } })).status, 400);
      assert.equal((await s.request('DELETE', `/v1/schedules/${id}`)).status, 204);
      assert.equal((await s.request('GET', `/v1/schedules/${id}`)).status, 404);
    });

    it('answers 400 naming an invalid cron expression or time zone, and creates nothing', async () => {
      const base = {
        name: 'bad',
        agent_id: agent.id,
        task_type: 'summarize',
        title: 't',
        payload: { text: 'x' },
      };
      const cron = await s.request('POST', '/v1/schedules', { body: { ...base, cron: '61 * * * *' } });
      assert.equal(cron.status, 400);
      assert.match(cron.body.error.message, /invalid cron expression "61 \* \* \* \*"/);
      const tz = await s.request('POST', '/v1/schedules', {
        body: { ...base, cron: '* * * * *', timezone: 'Mars/Base' },
      });
      assert.equal(tz.status, 400);
      assert.match(tz.body.error.message, /Mars\/Base/);
      const both = await s.request('POST', '/v1/schedules', {
        body: { ...base, cron: '* * * * *', interval_seconds: 5 },
      });
      assert.equal(both.status, 400);
      const payload = await s.request('POST', '/v1/schedules', {
        body: { ...base, interval_seconds: 5, payload: {} },
      });
      assert.equal(payload.status, 400);
      assert.equal(payload.body.error.details[0].path, 'payload.text');
      assert.equal((await s.request('GET', '/v1/schedules')).body.total, 0);
    });

    it('creates exactly one task per tick with several schedulers ticking at once', async () => {
      const created = await s.request('POST', '/v1/schedules', {
        body: {
          name: 'every-minute',
          interval_seconds: 60,
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'tick',
          payload: { text: 'x' },
        },
      });
      const id = created.body.id;
      for (let round = 1; round <= 3; round++) {
        await s.app.db.query(`update schedules set next_run_at = now() - interval '1 second' where id = $1`, [
          id,
        ]);
        const made = await Promise.all(schedulers().map((sch) => sch.tick()));
        assert.equal(
          made.reduce((a, b) => a + b, 0),
          1,
          `round ${round}: one tick claimed once`,
        );
        assert.equal((await tasksOf(id)).length, round);
      }
      const [task] = await tasksOf(id);
      assert.equal(task!.title, 'tick');
      assert.deepEqual(task!.payload, { text: 'x' });
    });

    it('creates a tick missed while everything was down once, not once per missed interval', async () => {
      const created = await s.request('POST', '/v1/schedules', {
        body: {
          name: 'missed',
          interval_seconds: 60,
          agent_id: agent.id,
          task_type: 'summarize',
          title: 'missed',
          payload: { text: 'x' },
        },
      });
      const id = created.body.id;
      await s.app.db.query(`update schedules set next_run_at = now() - interval '3 hours' where id = $1`, [
        id,
      ]);
      const [first, second] = schedulers();
      assert.equal(await first!.tick(), 1);
      assert.equal(await second!.tick(), 0, 'the 179 other missed intervals are not replayed');
      assert.equal((await tasksOf(id)).length, 1);
      const after = await s.request('GET', `/v1/schedules/${id}`);
      const nextAt = new Date(after.body.next_run_at).getTime();
      assert.ok(nextAt > Date.now() && nextAt <= Date.now() + 60_000, 'next tick within one interval');
      // A paused schedule does not tick.
      await s.request('POST', `/v1/schedules/${id}/pause`);
      await s.app.db.query(`update schedules set next_run_at = now() - interval '1 second' where id = $1`, [
        id,
      ]);
      assert.equal(await first!.tick(), 0);
    });

    it('runs the in-process scheduler loop when workers are on', async () => {
      const live = await startServer(store, { tasks: { workers: 1, poll_seconds: 1 } });
      try {
        const a = await createAgent(live, 'looped');
        const created = await live.request('POST', '/v1/schedules', {
          body: {
            name: 'fast',
            interval_seconds: 1,
            agent_id: a.id,
            task_type: 'summarize',
            title: 'x',
            payload: { text: 'y' },
          },
        });
        assert.equal(created.status, 201);
        await eventually(
          async () => {
            const [row] = await live.app.db.query<{ n: number }>(
              'select count(*)::int as n from tasks where created_by = $1',
              [`schedule:${created.body.id}`],
            );
            return row!.n >= 2 || undefined;
          },
          30_000,
          'two ticks that create tasks',
        );
      } finally {
        await live.close();
      }
    });
  });
}
