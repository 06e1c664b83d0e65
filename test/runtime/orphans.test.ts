import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
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
 * A run whose executors keep dying is not taken over for ever: the store says a run's executor
 * died three times already (its stream holds three `run_resumed` after a crash) and its lease has
 * lapsed with no live owner; the next sweep fails it as `orphaned` instead of running it again.
 */
for (const store of stores) {
  describe(`a run that keeps killing its process, on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        runtime: { lease_seconds: 1 },
        models: { mock: { scripts: { stuck: [{ content: 'never sent', delay_ms: 120_000 }] } } },
      });
    });
    after(async () => s.close());

    it('fails it as orphaned after three crashes rather than take it over again', async () => {
      const agent = await createAgent(s, { name: 'poison', model: 'mock/stuck' });
      const started = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'again' },
        stop: (e) => e.event === 'system',
      });
      const runId = started.events[0]!.data.run_id as string;
      const { db } = s.app.services;
      await db.query(
        `insert into events (tenant_id, stream_id, type, data)
         select tenant_id, id, 'run_resumed', '{"by":"takeover","after":"crash"}'::jsonb
         from runs, generate_series(1, 3) where id = $1`,
        [runId],
      );
      // Its owner is gone: nobody renews the lease, which has lapsed.
      await db.query(
        `update runs set lease_owner = 'dead-host:1:0', lease_expires_at = now() - interval '1 second' where id = $1`,
        [runId],
      );
      const ended = await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${runId}`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      });
      assert.equal(ended.status, 'failed');
      assert.equal(ended.error.code, 'orphaned');
      assert.match(ended.error.message, /died 4 times/);
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
              slow: [{ content: 'first', delay_ms: 1000 }],
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
