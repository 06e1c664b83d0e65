import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
import { RunStore } from '../../src/runtime/runs/store.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import {
  bootOn,
  call,
  createAgent,
  eventually,
  failNextAgentRead,
  persistentStore,
  spawnServerProcess,
  sse,
} from './helpers.ts';

/**
 * A server process is killed (SIGKILL: no shutdown code runs) while a run is in progress and another
 * waits behind it. A new server on the same store takes the run over — at start-up on the embedded
 * store, by its expired lease on PostgreSQL — carries it on to its end, then runs the queued one.
 * (test/runtime/durable.test.ts covers what is and is not done again.)
 */
for (const store of stores) {
  describe(`runs whose process died, on ${store}`, () => {
    let dir: string;
    let storeConfig: ConfigInput['store'];
    let drop = async () => {};
    let app: App | undefined;
    let child: ChildProcess | undefined;

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-orphans-'));
      ({ config: storeConfig, drop } = await persistentStore(store, dir));
    });
    after(async () => {
      child?.kill('SIGKILL');
      await app?.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('takes over a run whose process died, completes it, and starts the run queued behind it', async () => {
      const runtime = { lease_seconds: 1, workspaces_dir: path.join(dir, 'ws') };
      const first = await spawnServerProcess({
        store: storeConfig,
        server: { max_event_loop_delay_ms: 0 },
        runtime,
        models: { mock: { scripts: { stuck: [{ content: 'never sent', delay_ms: 120_000 }] } } },
      });
      child = first.child;
      const { url, key } = first;
      const agent = await call(url, key, 'POST', '/v1/agents', { name: 'doomed', model: 'mock/stuck' });
      assert.equal(agent.status, 201);
      const started = await sse(`${url}/v1/agents/${agent.body.id}/chat`, {
        key,
        body: { message: 'take your time' },
        stop: (e) => e.event === 'system',
      });
      const runId = started.events[0]!.data.run_id as string;
      const sessionId = started.events[0]!.data.session_id as string;
      const queued = await sse(`${url}/v1/agents/${agent.body.id}/chat`, {
        key,
        body: { message: 'and then this', session_id: sessionId, multitask: 'enqueue' },
        stop: (e) => e.event === 'session_start',
      });
      assert.equal(queued.events[0]!.data.status, 'queued');
      const queuedId = queued.events[0]!.data.run_id as string;
      assert.equal((await call(url, key, 'GET', `/v1/runs/${runId}`)).body.status, 'running');

      child.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
      child = undefined;

      const booted = await bootOn({
        store: storeConfig,
        server: { max_event_loop_delay_ms: 0 },
        runtime,
        models: { mock: { scripts: { stuck: [{ content: 'carried on' }] } } },
      });
      app = booted.app;
      const next = booted.url;
      const ended = await eventually(async () => {
        const r = await call(next, key, 'GET', `/v1/runs/${runId}`);
        // 503 (a loaded machine's backpressure) is asked again.
        return r.status !== 200 || r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(ended.status, 'completed', JSON.stringify(ended.error));
      assert.equal(ended.output, 'carried on');
      const replay = await sse(`${next}/v1/runs/${runId}/stream`, { key });
      assert.deepEqual(
        replay.events.map((e) => e.event).filter((e) => e !== 'text'),
        ['session_start', 'system', 'run_resumed', 'result', 'session_end'],
      );
      assert.ok(replay.done);

      const after = await eventually(async () => {
        const r = await call(next, key, 'GET', `/v1/runs/${queuedId}`);
        return ['completed', 'failed'].includes(r.body.status) ? r.body : undefined;
      });
      assert.equal(after.status, 'completed', JSON.stringify(after.error));
      assert.equal(after.output, 'You said: and then this');
    });
  });
}

/**
 * A poison pill does not walk the fleet: a run whose processes keep dying or blocking (each time its
 * lease lapses with no live owner) is taken over `runtime.max_takeovers` times in a row without
 * recording a step, then failed as `poisoned` instead of being handed on again. Each lapse here is
 * the store saying the run's owner is a dead host whose lease expired; this server's sweep takes
 * it over for real. A recorded step sets the count back to 0.
 */
for (const store of stores) {
  describe(`a run that keeps killing or blocking its process, on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        runtime: { lease_seconds: 1, max_takeovers: 3 },
        models: {
          mock: {
            scripts: {
              stuck: [{ content: 'never sent', delay_ms: 120_000 }],
              slow: [{ content: 'never sent', delay_ms: 120_000 }],
            },
          },
        },
      });
    });
    after(async () => s.close());

    const lapse = (runId: string) =>
      s.app.db.query(
        `update runs set lease_owner = 'dead-host:1:0', lease_expires_at = now() - interval '1 second' where id = $1`,
        [runId],
      );
    const takeovers = async (runId: string) =>
      (
        await s.app.db.query<{ takeovers: number; lease_owner: string | null }>(
          'select takeovers, lease_owner from runs where id = $1',
          [runId],
        )
      )[0]!;

    it('fails it as poisoned after max_takeovers takeovers without a step, rather than take it over again', async () => {
      const agent = await createAgent(s, { name: 'poison', model: 'mock/stuck' });
      const started = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'again' },
        stop: (e) => e.event === 'system',
      });
      const runId = started.events[0]!.data.run_id as string;
      for (let n = 1; n <= 3; n++) {
        await lapse(runId);
        // Taken over (by a live owner again), counted, and still running: no step was recorded.
        await eventually(async () => {
          const row = await takeovers(runId);
          return row.takeovers === n && row.lease_owner !== 'dead-host:1:0' ? row : undefined;
        });
        assert.equal((await s.request('GET', `/v1/runs/${runId}`)).body.status, 'running');
      }
      await lapse(runId);
      const ended = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${runId}`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      });
      assert.equal(ended.status, 'failed');
      assert.equal(ended.error.code, 'poisoned');
      assert.match(ended.error.message, /taken over 3 times without recording a step/);
      const metrics = await s.app.services.metrics.registry.getSingleMetricAsString(
        'agentry_runs_poisoned_total',
      );
      assert.match(metrics, /^agentry_runs_poisoned_total 1$/m);
    });

    it('counts takeovers since the last recorded step only', async () => {
      const agent = await createAgent(s, { name: 'progress', model: 'mock/slow' });
      const started = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'slowly' },
        stop: (e) => e.event === 'system',
      });
      const runId = started.events[0]!.data.run_id as string;
      const { db } = s.app;
      await db.query('update runs set takeovers = 2 where id = $1', [runId]);
      const owner = (await takeovers(runId)).lease_owner!;
      const runs = new RunStore(db);
      // An event alone (as a takeover's run_resumed) is no progress.
      await runs.advance({
        runId,
        owner,
        events: [{ type: 'ping', data: {}, at: new Date().toISOString() }],
      });
      assert.equal((await takeovers(runId)).takeovers, 2);
      // A model answer recorded is.
      assert.ok(await runs.advance({ runId, owner, modelCalls: 1 }), 'still its owner');
      assert.equal((await takeovers(runId)).takeovers, 0);
      await s.request('POST', `/v1/runs/${runId}/cancel`);
    });
  });
}

/**
 * A queued run this process claimed but could not start (its agent could not be read: the store
 * failed) is not failed as if its agent were gone, nor kept by this process's lease renewals while
 * it runs other runs: its lease lapses and the sweep carries it on.
 */
for (const store of stores) {
  describe(`a queued run whose start failed, on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        runtime: { lease_seconds: 1 },
        models: {
          mock: {
            scripts: {
              // Long enough that the next message is queued behind it, and the failing read armed,
              // before it ends on a loaded machine.
              slow: [{ content: 'first', delay_ms: 5_000 }],
              stuck: [{ content: 'never sent', delay_ms: 120_000 }],
            },
          },
        },
      });
    });
    after(async () => s.close());

    it('carries it on once its lease lapses', async () => {
      const key = s.adminKey;
      const busy = await createAgent(s, { name: 'busy', model: 'mock/stuck' });
      // A run this process keeps executing, so it renews leases all along.
      const other = await sse(`${s.url}/v1/agents/${busy.id}/chat`, {
        key,
        body: { message: 'stay' },
        stop: (e) => e.event === 'system',
      });
      const agent = await createAgent(s, { name: 'patient', model: 'mock/slow' });
      const started = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key,
        body: { message: 'first' },
        stop: (e) => e.event === 'system',
      });
      const sessionId = started.events[0]!.data.session_id as string;
      const queued = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key,
        body: { message: 'then this', session_id: sessionId, multitask: 'enqueue' },
        stop: (e) => e.event === 'session_start',
      });
      assert.equal(queued.events[0]!.data.status, 'queued');
      const queuedId = queued.events[0]!.data.run_id as string;
      // The read that starts the queued run fails once.
      const failure = failNextAgentRead(s.app);
      const ended = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${queuedId}`);
        return r.status === 200 && ['completed', 'failed'].includes(r.body.status) ? r.body : undefined;
      });
      assert.equal(ended.status, 'completed', JSON.stringify(ended.error));
      assert.equal(ended.output, 'You said: then this');
      assert.ok(failure.happened(), 'the failing read was the one that started it');
      const runId = other.events[0]!.data.run_id as string;
      await s.request('POST', `/v1/runs/${runId}/cancel`);
    });
  });
}
