import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TRACE_STRING_LIMIT } from '../../src/runtime/trace/value.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, eventually } from './helpers.ts';

/**
 * What a run's trace keeps, at its edges: tool arguments and results cut at the limit (8192
 * characters), credentials in a tool's error redacted, the team filter of GET /v1/runs, and the
 * retention job deleting old runs by itself.
 */
for (const store of stores) {
  describe(`run trace limits on ${store}`, () => {
    let s: TestServer;
    let dir: string;

    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    const stepsOf = async (runId: string): Promise<Array<Record<string, any>>> => {
      const res = await s.request('GET', `/v1/runs/${runId}/trace`);
      assert.equal(res.status, 200, res.text);
      return res.body.spans.filter((x: { kind: string }) => x.kind !== 'run');
    };
    const chat = async (agentId: string, message: string) => {
      const res = await s.request('POST', `/v1/agents/${agentId}/chat`, { body: { message, stream: false } });
      assert.equal(res.status, 200, res.text);
      return res.body.run_id as string;
    };

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-trace-limits-'));
      s = await startServer(store, {
        // The retention job runs often here, so that the test sees it work without waiting an hour.
        runtime: { workspaces_dir: dir, run_retention_days: 30, run_retention_sweep_seconds: 0.2 },
      });
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps a tool argument and a tool result of exactly the limit whole, and cuts longer ones saying how much', async () => {
      const exact = 'a'.repeat(TRACE_STRING_LIMIT);
      const longer = 'b'.repeat(TRACE_STRING_LIMIT + 100);
      const agent = await createAgent(s, {
        name: 'tl-writer',
        model: 'mock/tl-writer',
        tools: ['write_file', 'read_file'],
      });
      s.app.services.models.mock.script('tl-writer', [
        {
          tool_calls: [
            { name: 'write_file', arguments: { path: 'exact.txt', content: exact } },
            { name: 'write_file', arguments: { path: 'long.txt', content: longer } },
          ],
        },
        {
          tool_calls: [
            { name: 'read_file', arguments: { path: 'exact.txt' } },
            { name: 'read_file', arguments: { path: 'long.txt' } },
          ],
        },
        { content: 'written and read' },
      ]);
      const steps = await stepsOf(await chat(agent.id, 'write and read'));
      const tools = steps.filter((x) => x.kind === 'tool');
      assert.deepEqual(
        tools.map((t) => `${t.name}:${t.status}`),
        ['write_file:ok', 'write_file:ok', 'read_file:ok', 'read_file:ok'],
      );
      // The calls of one turn run side by side: which one started first is not fixed.
      const step = (name: string, path: string) =>
        tools.find((t) => t.name === name && t.input.path === path);
      const [writeExact, writeLong, readExact, readLong] = [
        step('write_file', 'exact.txt'),
        step('write_file', 'long.txt'),
        step('read_file', 'exact.txt'),
        step('read_file', 'long.txt'),
      ];
      assert.equal(writeExact!.input.content, exact, 'an argument of exactly the limit is kept whole');
      assert.equal(writeLong!.input.content, `${'b'.repeat(TRACE_STRING_LIMIT)}…[100 more characters]`);
      assert.ok(String(readExact!.output).includes(exact), 'a result within the limit is kept whole');
      assert.ok(String(readExact!.output).length <= TRACE_STRING_LIMIT);
      const cut = String(readLong!.output);
      assert.match(cut, /…\[\d+ more characters\]$/);
      assert.equal(cut.replace(/…\[\d+ more characters\]$/, '').length, TRACE_STRING_LIMIT);
    });

    it('redacts a credential that a tool error quotes, in the run step', async () => {
      const secret = 'sk-live0123456789abcdefXYZ';
      const clock = await createAgent(s, { name: 'tl-clock', tools: ['current_time'] });
      const runId = await chat(clock.id, `use the current_time tool {"timezone": "Bearer ${secret}"}`);
      const tool = (await stepsOf(runId)).find((x) => x.kind === 'tool')!;
      assert.equal(tool.status, 'error');
      assert.match(tool.error, /^unknown time zone: Bearer \[redacted\]/);
      const all = JSON.stringify(await stepsOf(runId));
      assert.ok(!all.includes(secret), all);
    });

    it('lists the runs of one team with ?team=', async () => {
      const a = await createAgent(s, { name: 'tl-a', model: 'mock/tl-a', handoffs: ['tl-b'] });
      const b = await createAgent(s, { name: 'tl-b', model: 'mock/tl-b' });
      const team = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'tl-team', kind: 'swarm', members: [a.id, b.id] },
      });
      assert.equal(team.status, 201, team.text);
      const run = await s.request('POST', `/v1/multi-agents/${team.body.id}/run`, {
        body: { message: 'hello team', stream: false },
      });
      assert.equal(run.status, 200, run.text);
      const alone = await chat(a.id, 'hello alone');
      const listed = await s.request('GET', `/v1/runs?team=${team.body.id}`);
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(
        listed.body.data.map((r: { id: string; team: string }) => [r.id, r.team]),
        [[run.body.run_id, team.body.id]],
      );
      assert.ok(!listed.body.data.some((r: { id: string }) => r.id === alone));
      const other = await s.request('GET', '/v1/runs?team=01900000-0000-7000-8000-000000000000');
      assert.deepEqual(other.body.data, []);
      const bad = await s.request('GET', '/v1/runs?team=not-a-uuid');
      assert.equal(bad.status, 400, bad.text);
    });

    it('has its retention job delete ended runs past the retention, and keep the others', async () => {
      const agent = await createAgent(s, { name: 'tl-old' });
      const old = await chat(agent.id, 'an old conversation');
      const recent = await chat(agent.id, 'a recent one');
      await s.app.db.query(
        `update runs set created_at = now() - interval '41 days', completed_at = now() - interval '40 days'
         where id = $1`,
        [old],
      );
      await eventually(
        async () => ((await s.request('GET', `/v1/runs/${old}/trace`)).status === 404 ? true : undefined),
        20_000,
        'the retention job to delete the old run',
      );
      assert.equal((await s.request('GET', `/v1/runs/${recent}/trace`)).status, 200);
      const [left] = await s.app.db.query<{ n: number }>(
        'select count(*)::int as n from run_steps where run_id = $1',
        [old],
      );
      assert.equal(left!.n, 0, 'its steps went with it');
    });
  });
}
