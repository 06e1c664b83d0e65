import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
import { stores, tsLoaderArgs } from '../helpers/server.ts';
import { bootOn, call, eventually, persistentStore, sse } from './helpers.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'server-process.ts');

/** Starts a server process and waits for its "ready <url> <key>" line. */
async function spawnServer(config: ConfigInput): Promise<{ child: ChildProcess; url: string; key: string }> {
  const child = spawn(process.execPath, [...tsLoaderArgs, fixture], {
    env: { ...process.env, AGENTRY_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const m = /ready (\S+) (\S+)\n/.exec(out);
      if (m) resolve({ child, url: m[1]!, key: m[2]! });
    });
    child.on('exit', (code) => reject(new Error(`server process exited early (${code})`)));
  });
}

/**
 * A server process is killed (SIGKILL: no shutdown code runs) while a run is in progress and another
 * waits behind it. A new server on the same store fails the orphan — at start-up on the embedded
 * store, by its expired lease on PostgreSQL — ends its stream with an error, and runs the queued one.
 */
for (const store of stores) {
  describe(`orphaned runs on ${store}`, () => {
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

    it('fails a run whose process died, ends its stream with an error, and starts the run queued behind it', async () => {
      const runtime = { lease_seconds: 1, workspaces_dir: path.join(dir, 'ws') };
      const first = await spawnServer({
        store: storeConfig,
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

      const booted = await bootOn({ store: storeConfig, runtime });
      app = booted.app;
      const next = booted.url;
      const failed = await eventually(async () => {
        const r = await call(next, key, 'GET', `/v1/runs/${runId}`);
        return r.body.status === 'running' ? undefined : r.body;
      });
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error.code, 'orphaned');
      const replay = await sse(`${next}/v1/runs/${runId}/stream`, { key });
      assert.deepEqual(
        replay.events.slice(-2).map((e) => e.event),
        ['error', 'session_end'],
      );
      assert.equal(replay.events.at(-2)!.data.code, 'orphaned');
      assert.equal(replay.events.at(-1)!.data.status, 'failed');
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
