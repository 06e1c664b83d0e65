import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createAgent, type SseEvent, sse } from './helpers.ts';

/**
 * A diamond: plan -> (research, draft) -> edit, plus `audit` reachable only from research. The mock
 * echoes its input ("You said: …"), so each node's output shows what reached it from upstream.
 */
for (const store of stores) {
  describe(`DAG runs on ${store}`, () => {
    let s: TestServer;
    let dir: string;
    const ids: Record<string, string> = {};
    let spec: { id: string };
    const mock = () => s.app.services.models.mock;

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-dag-'));
      s = await startServer(store, { runtime: { workspaces_dir: dir } });
      for (const name of ['plan', 'research', 'draft', 'edit', 'audit']) {
        ids[name] = (await createAgent(s, { name, model: `mock/dag-${name}` })).id;
      }
      const edge = (from: string, to: string) => ({ from: ids[from]!, to: ids[to]! });
      const res = await s.request('POST', '/v1/multi-agents', {
        body: {
          name: 'pipeline',
          kind: 'dag',
          members: ['plan', 'research', 'draft', 'edit', 'audit'].map((n) => ids[n]!),
          edges: [
            edge('plan', 'research'),
            edge('plan', 'draft'),
            edge('research', 'edit'),
            edge('draft', 'edit'),
            edge('research', 'audit'),
          ],
        },
      });
      assert.equal(res.status, 201, res.text);
      spec = res.body;
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const nodeEvents = (events: SseEvent[]) =>
      events
        .filter((e) => e.event === 'node_start' || e.event === 'node_end')
        .map((e) => `${e.event === 'node_start' ? 'start' : e.data.status}:${e.data.agent}`);

    it('runs nodes after their parents, independent branches at once, outputs flowing downstream', async () => {
      // Both branches take a while: if they ran one after the other, one would end before the other starts.
      // A while long enough that a loaded machine starting the second branch does not outlast it.
      mock().script('dag-research', [{ content: 'findings R', delay_ms: 2_000 }]);
      mock().script('dag-draft', [{ content: 'draft D', delay_ms: 2_000 }]);
      const read = await sse(`${s.url}/v1/multi-agents/${spec.id}/run`, {
        key: s.adminKey,
        body: { message: 'write a report' },
      });
      assert.equal(read.status, 200, JSON.stringify(read.error));
      assert.ok(read.done);
      const order = nodeEvents(read.events);
      const at = (x: string) => order.indexOf(x);
      assert.ok(
        at('completed:plan') < at('start:research') && at('completed:plan') < at('start:draft'),
        order.join(),
      );
      assert.ok(at('start:research') < at('completed:draft'), `research starts before draft ends: ${order}`);
      assert.ok(at('start:draft') < at('completed:research'), `draft starts before research ends: ${order}`);
      assert.ok(at('completed:research') < at('start:edit') && at('completed:draft') < at('start:edit'));
      assert.ok(at('completed:research') < at('start:audit'));
      const edit = read.events.find((e) => e.event === 'node_end' && e.data.agent === 'edit')!;
      assert.match(edit.data.output, /## research\nfindings R/);
      assert.match(edit.data.output, /## draft\ndraft D/);
      const plan = read.events.find((e) => e.event === 'node_end' && e.data.agent === 'plan')!;
      assert.equal(plan.data.output, 'You said: write a report');
      // Every loop event names its node; the answer is the sinks' outputs (edit and audit).
      assert.ok(read.events.filter((e) => e.event === 'text').every((e) => typeof e.data.agent === 'string'));
      const result = read.events.find((e) => e.event === 'result')!.data;
      assert.match(result.text, /^## edit\n/);
      assert.match(result.text, /## audit\n/);
      const run = await s.request('GET', `/v1/runs/${read.events[0]!.data.run_id}`);
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.steps.filter((st: { kind: string }) => st.kind === 'model').length, 5);
      const history = await s.request('GET', `/v1/sessions/${read.events[0]!.data.session_id}/messages`);
      assert.deepEqual(
        history.body.data.map((m: { role: string }) => m.role),
        ['user', 'assistant'],
      );
    });

    it('fails a node’s descendants and the run, naming the node; other branches still finish', async () => {
      mock().script('dag-draft', [{ error: { status: 400, message: 'draft model refused' } }]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.id}/run`, {
        body: { message: 'try again', stream: false },
      });
      assert.equal(res.status, 400, res.text);
      assert.match(res.body.error.message, /DAG node draft failed: .*draft model refused.*; not run: edit/);
      const run = await s.request('GET', `/v1/runs/${res.body.error.details.run_id}`);
      assert.equal(run.body.status, 'failed');
      assert.equal(run.body.error.code, 'node_failed');
      const events = await sse(`${s.url}/v1/runs/${run.body.id}/stream`, { key: s.adminKey });
      const order = nodeEvents(events.events);
      assert.ok(order.includes('failed:draft'), order.join());
      assert.ok(order.includes('skipped:edit'), order.join());
      assert.ok(order.includes('completed:audit') && order.includes('completed:research'), order.join());
      const error = events.events.find((e) => e.event === 'error')!;
      assert.equal(error.data.node, 'draft');
      assert.equal(error.data.node_id, ids.draft);
    });

    it('stops every node of a cancelled run: nothing downstream starts', async () => {
      mock().script('dag-research', [{ content: 'slow R', delay_ms: 5_000 }]);
      mock().script('dag-draft', [{ content: 'slow D', delay_ms: 5_000 }]);
      let runId = '';
      const read = await sse(`${s.url}/v1/multi-agents/${spec.id}/run`, {
        key: s.adminKey,
        body: { message: 'cancel me' },
        stop: (e) => {
          if (e.event === 'session_start') runId = e.data.run_id;
          return e.event === 'node_start' && e.data.agent === 'research';
        },
      });
      assert.ok(runId && !read.done);
      const cancel = await s.request('POST', `/v1/runs/${runId}/cancel`, { body: {} });
      assert.equal(cancel.status, 200, cancel.text);
      const rest = await sse(`${s.url}/v1/runs/${runId}/stream`, { key: s.adminKey });
      assert.ok(rest.done);
      assert.equal(rest.events.at(-1)!.data.status, 'cancelled');
      const order = nodeEvents(rest.events);
      assert.ok(!order.includes('start:edit') && !order.includes('start:audit'), order.join());
      const run = await s.request('GET', `/v1/runs/${runId}`);
      assert.equal(run.body.status, 'cancelled');
      // The loops stopped: the slow turns were taken and no node started after the cancel.
      assert.equal(mock().pending('dag-research') + mock().pending('dag-draft'), 0);
    });

    it('starts at entry_agent_override: only that node and what it reaches run', async () => {
      mock().script('dag-research', [{ content: 'only research' }]);
      const read = await sse(`${s.url}/v1/multi-agents/${spec.id}/run`, {
        key: s.adminKey,
        body: { message: 'partial', entry_agent_override: ids.research },
      });
      assert.deepEqual(
        nodeEvents(read.events)
          .filter((x) => x.startsWith('start:'))
          .sort(),
        ['start:audit', 'start:edit', 'start:research'],
      );
      const result = read.events.find((e) => e.event === 'result')!.data;
      assert.deepEqual(result.nodes.sort(), ['audit', 'edit', 'research']);
    });
  });
}
