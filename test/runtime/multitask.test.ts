import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually, sse } from './helpers.ts';

/**
 * A second message to a session whose run is still going: `reject` (409, the default), `enqueue`
 * (runs after the first), `interrupt` (cancels the first). The first run is kept going by a mock
 * turn with a delay.
 */
for (const store of stores) {
  describe(`multitask on ${store}`, () => {
    let s: TestServer;
    let dir: string;
    let agent: { id: string };

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-multitask-'));
      s = await startServer(store, { runtime: { workspaces_dir: dir } });
      agent = await createAgent(s, { name: 'slowpoke', model: 'mock/slow' });
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /**
     * Starts a slow first run and returns its session and run once it is running. Slow enough (3 s)
     * that the next message arrives while it runs on a loaded machine too.
     */
    async function slowFirst(delayMs = 3_000) {
      s.app.services.models.mock.script('slow', [{ content: 'first answer', delay_ms: delayMs }]);
      const read = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'first' },
        stop: (e) => e.event === 'system',
      });
      return {
        sessionId: read.events[0]!.data.session_id as string,
        runId: read.events[0]!.data.run_id as string,
      };
    }
    /** A second message to the session, answered without a stream (`multitask` unset: the default). */
    const followUp = (sessionId: string, message: string, multitask?: 'enqueue' | 'interrupt') =>
      s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message, session_id: sessionId, multitask, stream: false },
      });
    const roles = async (sessionId: string) =>
      (await s.request('GET', `/v1/sessions/${sessionId}/messages`)).body.data.map(
        (m: { role: string; content: string }) => `${m.role}:${m.content}`,
      );

    it('rejects by default with 409 naming the running run, and writes nothing', async () => {
      const first = await slowFirst();
      const res = await followUp(first.sessionId, 'second');
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.error.details.run_id, first.runId);
      assert.match(res.body.error.message, /enqueue|interrupt/);
      const done = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${first.runId}`);
        return r.body.status === 'completed' ? r.body : undefined;
      });
      assert.equal(done.output, 'first answer');
      assert.deepEqual(await roles(first.sessionId), ['user:first', 'assistant:first answer']);
    });

    it('enqueues: the second run waits, then runs on the history the first one left', async () => {
      const first = await slowFirst();
      const streamed = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'second', session_id: first.sessionId, multitask: 'enqueue' },
      });
      assert.equal(streamed.events[0]!.event, 'session_start');
      assert.equal(streamed.events[0]!.data.status, 'queued');
      assert.ok(streamed.done);
      assert.deepEqual(
        streamed.events.slice(-2).map((e) => e.event),
        ['result', 'session_end'],
      );
      assert.equal(streamed.events.at(-2)!.data.text, 'You said: second');
      const firstRun = await s.request('GET', `/v1/runs/${first.runId}`);
      const secondRun = await s.request('GET', `/v1/runs/${streamed.events[0]!.data.run_id}`);
      assert.equal(firstRun.body.status, 'completed');
      assert.ok(Date.parse(secondRun.body.started_at) >= Date.parse(firstRun.body.completed_at));
      assert.deepEqual(await roles(first.sessionId), [
        'user:first',
        'assistant:first answer',
        'user:second',
        'assistant:You said: second',
      ]);

      // Non-streaming callers simply wait for their turn.
      const again = await slowFirst(300);
      const waited = await followUp(again.sessionId, 'third', 'enqueue');
      assert.equal(waited.status, 200, waited.text);
      assert.equal(waited.body.response.text, 'You said: third');
    });

    it('interrupts: the running run is cancelled, its stream ends, and the new one answers', async () => {
      const first = await slowFirst(5000);
      const res = await followUp(first.sessionId, 'never mind', 'interrupt');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'You said: never mind');
      const old = await s.request('GET', `/v1/runs/${first.runId}`);
      assert.equal(old.body.status, 'cancelled');
      assert.match(old.body.error.message, /interrupted/);
      const replay = await sse(`${s.url}/v1/runs/${first.runId}/stream`, { key: s.adminKey });
      assert.deepEqual(
        replay.events.slice(-2).map((e) => e.event),
        ['error', 'session_end'],
      );
      assert.equal(replay.events.at(-1)!.data.status, 'cancelled');
      assert.deepEqual(await roles(first.sessionId), [
        'user:first',
        'user:never mind',
        'assistant:You said: never mind',
      ]);
    });
  });
}
