import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ConfigInput } from '../../src/config/config.ts';
import { stores } from '../helpers/server.ts';
import { FakeUpstream, openai as oa } from '../models/helpers/fake-upstream.ts';
import { bootOn, call, eventually, persistentStore, spawnServerProcess } from '../runtime/helpers.ts';

/**
 * An experiment whose server process is killed (SIGKILL: no shutdown code runs) mid-way: a new
 * server on the same store takes its lanes up again (their queue tasks' leases lapse, or the
 * embedded store's start-up sweep frees them) and finishes it, never running a finished item again,
 * and paying for an item in flight at the kill once: its lane follows the run it had started, which
 * the new server takes over, rather than start a second one.
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
        // 12 items of 1 s, two at once: the kill lands with items left on a loaded machine too.
        models: { mock: { delays: { slow: 1_000 } } },
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

  describe(`an experiment whose server died with items in flight, on ${store}`, () => {
    let dir: string;
    let storeConfig: ConfigInput['store'];
    let drop = async () => {};
    let app: App | undefined;
    let child: ChildProcess | undefined;
    const upstream = new FakeUpstream();

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-eval-inflight-'));
      ({ config: storeConfig, drop } = await persistentStore(store, dir));
      await upstream.start();
    });
    after(async () => {
      child?.kill('SIGKILL');
      await app?.close();
      await upstream.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** The item (its message) a model request is for. */
    const itemOf = (body: { messages: Array<{ role: string; content: unknown }> }) =>
      JSON.stringify(body.messages.findLast((m) => m.role === 'user')?.content);

    it('follows the runs in flight to their end: each item is run, and paid for, once', async () => {
      const config: ConfigInput = {
        store: storeConfig,
        server: { max_event_loop_delay_ms: 0 },
        tasks: { workers: 2, lease_seconds: 1 },
        runtime: { lease_seconds: 1, workspaces_dir: path.join(dir, 'ws') },
        models: { providers: { up: { type: 'openai', base_url: `${upstream.url}/v1` } } },
      };
      // Every model call is held until the kill: the first item of each lane is certainly in flight.
      upstream.answer({ hang: true });
      const first = await spawnServerProcess(config);
      child = first.child;
      const { url, key } = first;
      const agent = await call(url, key, 'POST', '/v1/agents', { name: 'held', model: 'up/m' });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
      const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
      const items = words.map((w) => ({ input: { message: w }, expected: 'done' }));
      assert.equal((await call(url, key, 'POST', '/v1/datasets', { name: 'held', items })).status, 201);
      const created = await call(url, key, 'POST', '/v1/experiments', {
        dataset: 'held',
        agent: 'held',
        evaluators: [{ type: 'exact_match' }],
        concurrency: 2,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      await eventually(async () => (upstream.seen.length === 2 ? true : undefined));
      const inFlight = (await call(url, key, 'GET', '/v1/runs')).body.data as Array<{
        id: string;
        status: string;
      }>;
      assert.deepEqual(
        inFlight.map((r) => r.status),
        ['running', 'running'],
      );
      const heldItems = upstream.seen.map((r) => itemOf(r.body)).sort();
      assert.deepEqual(heldItems, [JSON.stringify('alpha'), JSON.stringify('bravo')]);
      upstream.answer({ status: 200, body: oa.completion('done') });
      child.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
      child = undefined;
      const killedAt = upstream.seen.length;

      const booted = await bootOn(config);
      app = booted.app;
      const next = booted.url;
      const done = await eventually(async () => {
        const r = await call(next, key, 'GET', `/v1/experiments/${id}`);
        return r.status !== 200 || r.body.status === 'running' ? undefined : r.body;
      }, 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const recorded = (await call(next, key, 'GET', `/v1/experiments/${id}/items`)).body.data as Array<{
        run_id: string;
      }>;
      assert.equal(done.progress.completed, words.length, JSON.stringify(recorded));
      assert.equal(done.summary.evaluators[0].mean, 1);

      // After the kill, each item's model calls are its own run's: one each, the held ones asked
      // again by the server that took their runs over, and none by a second run of theirs.
      const after = new Map<string, number>();
      for (const r of upstream.seen.slice(killedAt)) {
        after.set(itemOf(r.body), (after.get(itemOf(r.body)) ?? 0) + 1);
      }
      assert.deepEqual(
        Object.fromEntries(after),
        Object.fromEntries(words.map((w) => [JSON.stringify(w), 1])),
      );
      // One run per item, and the held items are recorded with the runs started before the kill.
      const runs = (await call(next, key, 'GET', '/v1/runs')).body.data as Array<{ id: string }>;
      assert.equal(runs.length, words.length, `${runs.length} runs for ${words.length} items`);
      assert.deepEqual(
        recorded
          .map((i) => i.run_id)
          .filter((r) => inFlight.some((f) => f.id === r))
          .sort(),
        inFlight.map((r) => r.id).sort(),
      );
    });
  });
}
