import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
import { stores } from '../helpers/server.ts';
import { bootOn, call, eventually, persistentStore, spawnServerProcess } from '../runtime/helpers.ts';

/**
 * An experiment whose server process is killed (SIGKILL: no shutdown code runs) mid-way: a new
 * server on the same store takes its lanes up again (their queue tasks' leases lapse, or the
 * embedded store's start-up sweep frees them) and finishes it, never running a finished item again.
 */
for (const store of stores) {
  describe(`an experiment whose server died, on ${store}`, () => {
    let dir: string;
    let storeConfig: ConfigInput['store'];
    let drop = async () => {};
    let app: App | undefined;
    let child: ChildProcess | undefined;

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-eval-restart-'));
      ({ config: storeConfig, drop } = await persistentStore(store, dir));
    });
    after(async () => {
      child?.kill('SIGKILL');
      await app?.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('finishes after a restart without running a finished item again', async () => {
      const config: ConfigInput = {
        store: storeConfig,
        server: { max_event_loop_delay_ms: 0 },
        tasks: { workers: 2, lease_seconds: 1 },
        runtime: { lease_seconds: 1, workspaces_dir: path.join(dir, 'ws') },
        models: { mock: { delays: { slow: 250 } } },
      };
      const first = await spawnServerProcess(config);
      child = first.child;
      const { url, key } = first;
      assert.equal(
        (await call(url, key, 'POST', '/v1/agents', { name: 'slow', model: 'mock/slow' })).status,
        201,
      );
      const words = 'abcdefghijkl'.split('');
      const items = words.map((w) => ({ input: { message: w }, expected: `You said: ${w}` }));
      assert.equal((await call(url, key, 'POST', '/v1/datasets', { name: 'letters', items })).status, 201);
      const created = await call(url, key, 'POST', '/v1/experiments', {
        dataset: 'letters',
        agent: 'slow',
        evaluators: [{ type: 'exact_match' }],
        concurrency: 2,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      // The items finished before the crash (more may finish between this read and the kill).
      const finishedBefore = (await eventually(async () => {
        const r = await call(url, key, 'GET', `/v1/experiments/${id}/items?status=completed`);
        return r.body.data.length >= 3 ? r.body.data : undefined;
      })) as Array<{ id: string; run_id: string }>;
      child.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
      child = undefined;
      assert.ok(finishedBefore.length < words.length, `${finishedBefore.length} finished before the kill`);

      const booted = await bootOn(config);
      app = booted.app;
      const next = booted.url;
      const done = await eventually(async () => {
        const r = await call(next, key, 'GET', `/v1/experiments/${id}`);
        return r.status !== 200 || r.body.status === 'running' ? undefined : r.body;
      }, 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.progress.completed, words.length);
      assert.equal(done.summary.evaluators[0].mean, 1);

      const all = (await call(next, key, 'GET', `/v1/experiments/${id}/items`)).body.data as Array<{
        id: string;
        run_id: string;
      }>;
      for (const f of finishedBefore)
        assert.equal(all.find((i) => i.id === f.id)!.run_id, f.run_id, `item ${f.id} was not run again`);
      // One progress event per item: none was recorded twice.
      const events = (await call(next, key, 'GET', `/v1/experiments/${id}/events`)).body.data as Array<{
        type: string;
        data: { seq: number };
      }>;
      const recorded = events.filter((e) => e.type === 'experiment.item').map((e) => e.data.seq);
      assert.deepEqual(
        [...recorded].sort((a, b) => a - b),
        words.map((_, i) => i + 1),
      );
    });
  });
}
