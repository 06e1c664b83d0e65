import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { insertRunEvents } from '../../src/runtime/runs/events.ts';
import { cancelRuns } from '../../src/runtime/runs/stop.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually, type SseEvent, sse } from './helpers.ts';

const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
const textOf = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === 'text')
    .map((e) => e.data.delta)
    .join('');

for (const store of stores) {
  describe(`run streams on ${store}`, () => {
    let s: TestServer;
    let dir: string;
    let agent: { id: string };

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-streams-'));
      // One word per chunk, 15 ms apart: a 40-word answer streams for over half a second.
      s = await startServer(store, {
        runtime: { workspaces_dir: dir },
        models: { mock: { chunk_delay_ms: 15, words_per_chunk: 1 } },
      });
      agent = await createAgent(s, { name: 'talker' });
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('loses nothing when a client drops mid-stream and reconnects with Last-Event-ID', async () => {
      const first = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: words },
        stop: (e) => e.event === 'text' && e.data.delta.includes('word5'),
      });
      assert.equal(first.done, false, 'the first connection was dropped before the end');
      const runId = first.events[0]!.data.run_id;
      const lastId = first.events.at(-1)!.id;
      const run = await s.request('GET', `/v1/runs/${runId}`);
      assert.equal(run.body.status, 'running', 'the run was still going when the client came back');

      const rest = await sse(`${s.url}/v1/runs/${runId}/stream`, {
        key: s.adminKey,
        headers: { 'last-event-id': lastId },
      });
      assert.ok(rest.done);
      assert.ok(Number(rest.events[0]!.id) > Number(lastId));
      assert.equal(textOf([...first.events, ...rest.events]), `You said: ${words}`);
      assert.deepEqual(
        rest.events.slice(-2).map((e) => e.event),
        ['result', 'session_end'],
      );

      // The two halves are exactly the full log: no gap, no duplicate.
      const whole = await sse(`${s.url}/v1/runs/${runId}/stream`, { key: s.adminKey });
      assert.deepEqual(
        [...first.events, ...rest.events].map((e) => e.id),
        whole.events.map((e) => e.id),
      );
      // ?last_event_id= works for clients that cannot set headers.
      const tail = await sse(`${s.url}/v1/runs/${runId}/stream?last_event_id=${whole.events.at(-3)!.id}`, {
        key: s.adminKey,
      });
      assert.deepEqual(
        tail.events.map((e) => e.event),
        ['result', 'session_end'],
      );
    });

    it("ends a stream resumed at a finished run's last event, saying it is done", async () => {
      const chat = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'hi', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      const whole = await sse(`${s.url}/v1/runs/${chat.body.run_id}/stream`, { key: s.adminKey });
      assert.equal(whole.events.at(-1)!.event, 'session_end');
      for (const after of [whole.events.at(-1)!.id, String(Number(whole.events.at(-1)!.id) + 5)]) {
        // A stream that never ends fails here rather than holding the test.
        const resumed = await Promise.race([
          sse(`${s.url}/v1/runs/${chat.body.run_id}/stream`, {
            key: s.adminKey,
            headers: { 'last-event-id': after },
          }),
          new Promise<undefined>((resolve) => {
            setTimeout(() => resolve(undefined), 20_000).unref();
          }),
        ]);
        assert.ok(resumed, `the stream resumed after ${after} ended`);
        assert.deepEqual(resumed.events, []);
        assert.equal(resumed.done, true, '[DONE] says it is over');
      }
    });

    it('keeps running when the client goes away, unless it asked for on_disconnect: cancel', async () => {
      const stay = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: words },
        stop: (e) => e.event === 'text',
      });
      const stayId = stay.events[0]!.data.run_id;
      const done = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${stayId}`);
        return r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(done.status, 'completed');
      assert.equal(done.output, `You said: ${words}`);

      const leave = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: words, on_disconnect: 'cancel' },
        stop: (e) => e.event === 'text',
      });
      const leaveId = leave.events[0]!.data.run_id;
      const cancelled = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${leaveId}`);
        return r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(cancelled.status, 'cancelled');
      const replay = await sse(`${s.url}/v1/runs/${leaveId}/stream`, { key: s.adminKey });
      assert.deepEqual(
        replay.events.slice(-2).map((e) => e.event),
        ['error', 'session_end'],
      );
      assert.equal(replay.events.at(-1)!.data.status, 'cancelled');
      assert.ok(replay.done);
      // The cancelled run's partial answer is not in the session's history.
      const messages = await s.request('GET', `/v1/sessions/${cancelled.session_id}/messages`);
      assert.deepEqual(
        messages.body.data.map((m: { role: string }) => m.role),
        ['user'],
      );
    });

    it('applies on_disconnect to stream:false requests too: answered when the client waits, cancelled when it leaves', async () => {
      const kept = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'short', stream: false, on_disconnect: 'cancel' },
      });
      assert.equal(kept.status, 200, kept.text);
      assert.equal(kept.body.response.text, 'You said: short');

      // Non-streaming calls take the whole answer at once: a slow turn keeps this one going (the
      // cancel ends its wait, so only a failing test waits it out: 30 s, past a loaded machine's pauses).
      s.app.services.models.mock.script('default', [{ content: 'too late', delay_ms: 30_000 }]);
      const controller = new AbortController();
      const leaving = fetch(`${s.url}/v1/agents/${agent.id}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: words, stream: false, on_disconnect: 'cancel' }),
        signal: controller.signal,
      }).catch(() => undefined);
      const run = await eventually(async () => {
        const [row] = await s.app.db.query<{ id: string }>(
          `select id from runs where input = $1 and status = 'running' and options->>'on_disconnect' = 'cancel'`,
          [words],
        );
        return row;
      });
      controller.abort();
      await leaving;
      const ended = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${run.id}`);
        return r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(ended.status, 'cancelled');
    });

    it('writes no event after a cancel, not even a batch that was on its way when the cancel ran', async () => {
      const started = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: words },
        stop: (e) => e.event === 'system',
      });
      const runId: string = started.events[0]!.data.run_id;
      const { db } = s.app;
      const [run] = await db.query<{ tenant_id: string }>('select tenant_id from runs where id = $1', [
        runId,
      ]);
      const late = (delta: string) => [{ type: 'text', data: { delta }, at: new Date().toISOString() }];
      // A batch that comes while the cancel's transaction is open waits for it, then writes nothing.
      let raced: Promise<unknown> | undefined;
      await db.transaction(async (tx) => {
        await cancelRuns(tx, 'id = $1', [runId], 'changed my mind');
        raced = insertRunEvents(db, run!.tenant_id, runId, late('raced'));
        // The batch is waiting on this transaction before it commits: on PostgreSQL for the run's row
        // lock; PGlite has one connection, whose queue the batch joins once the current tick is done.
        if (db.kind === 'postgres') {
          await eventually(
            async () => {
              const blocked = await tx.query(
                'select 1 from pg_locks where not granted and pg_backend_pid() = any(pg_blocking_pids(pid))',
              );
              return blocked.length > 0 ? true : undefined;
            },
            30_000,
            'the batch to wait for the cancel',
          );
        } else await new Promise((r) => setImmediate(r));
      });
      assert.equal(await raced, undefined);
      // And one that comes after it.
      assert.equal(await insertRunEvents(db, run!.tenant_id, runId, late('after')), undefined);

      const replay = await sse(`${s.url}/v1/runs/${runId}/stream`, { key: s.adminKey });
      assert.deepEqual(
        replay.events.slice(-2).map((e) => e.event),
        ['error', 'session_end'],
      );
      assert.ok(!replay.events.some((e) => e.data.delta === 'raced' || e.data.delta === 'after'));
    });

    it('cancels on request, and answers 409 for a run that already ended', async () => {
      const started = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: words },
        stop: (e) => e.event === 'system',
      });
      const runId = started.events[0]!.data.run_id;
      const cancel = await s.request('POST', `/v1/runs/${runId}/cancel`, {
        body: { reason: 'changed my mind' },
      });
      assert.equal(cancel.status, 200, cancel.text);
      assert.equal(cancel.body.status, 'cancelled');
      assert.deepEqual(cancel.body.error, { code: 'cancelled', message: 'changed my mind' });
      const again = await s.request('POST', `/v1/runs/${runId}/cancel`);
      assert.equal(again.status, 409);
      const approve = await s.request('POST', `/v1/runs/${runId}/approve`);
      assert.equal(approve.status, 409);
    });
  });
}
