import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { addDoc, createKb } from '../memory/fixtures.ts';
import { createAgent, eventually } from './helpers.ts';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

for (const store of stores) {
  describe(`run traces on ${store}`, () => {
    let s: TestServer;
    let dir: string;
    let calc: { id: string; name: string };
    let clock: { id: string; name: string };
    const runIds: Record<string, string> = {};

    const chat = async (agentId: string, message: string, headers?: Record<string, string>) => {
      const res = await s.request('POST', `/v1/agents/${agentId}/chat`, {
        body: { message, stream: false },
        headers,
      });
      assert.equal(res.status, 200, res.text);
      return res.body as { run_id: string; session_id: string };
    };

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'agentry-traces-'));
      s = await startServer(store, { runtime: { workspaces_dir: dir } });
      calc = await createAgent(s, { name: 'calc', tools: ['calculator'] });
      clock = await createAgent(s, { name: 'clock', tools: ['current_time'] });
      runIds.plain = (await chat(calc.id, 'hello there')).run_id;
      runIds.tool = (await chat(calc.id, 'use the calculator tool on (2 + 3) * 4', { traceparent })).run_id;
      // A failing tool call whose arguments carry a secret.
      runIds.failing = (
        await chat(
          clock.id,
          'use the current_time tool {"timezone": "Nowhere/Atlantis", "api_key": "hunter2-secret"}',
        )
      ).run_id;
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('gives a run with a tool call as a tree: run → model call → tool call, with tokens, cost and the trace id', async () => {
      const res = await s.request('GET', `/v1/runs/${runIds.tool}/trace`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.equal(res.body.run.agent_name, 'calc');
      // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
      const spans = res.body.spans as Array<Record<string, any>>;
      assert.deepEqual(
        spans.map((x) => `${x.id}<${x.parent_id}:${x.kind}:${x.name}:${x.status}`),
        [
          'run<null:run:calc:ok',
          'step-0<run:model:mock/default:ok',
          'step-1<step-0:tool:calculator:ok',
          'step-2<run:model:mock/default:ok',
        ],
      );
      const [root, firstModel, tool] = spans;
      assert.deepEqual(tool!.input, { expression: '(2 + 3) * 4' });
      assert.equal(tool!.output, '20');
      assert.equal(firstModel!.model, 'mock/default');
      assert.ok(firstModel!.usage.total_tokens > 0);
      assert.equal(typeof firstModel!.cost_usd, 'number');
      assert.ok(root!.duration_ms >= 0 && tool!.duration_ms >= 0);
      assert.equal(root!.usage.total_tokens, spans[1]!.usage.total_tokens + spans[3]!.usage.total_tokens);
    });

    it('marks a failing tool call as an error, with its arguments recorded and the secret among them redacted', async () => {
      const res = await s.request('GET', `/v1/runs/${runIds.failing}/trace`);
      assert.equal(res.status, 200, res.text);
      const tool = res.body.spans.find((x: { kind: string }) => x.kind === 'tool');
      assert.equal(tool.status, 'error');
      assert.ok(tool.error.length > 0, 'the error is recorded');
      assert.equal(tool.input.timezone, 'Nowhere/Atlantis');
      assert.equal(tool.input.api_key, '[redacted]');
      // The user's own message keeps it (it is the run's input); no step does.
      const steps = res.body.spans.filter((x: { kind: string }) => x.kind !== 'run');
      assert.ok(!JSON.stringify(steps).includes('hunter2-secret'), JSON.stringify(steps));
      assert.equal(res.body.run.has_error, true);
    });

    it('lists runs newest first, with filters by agent, error, status, session and time', async () => {
      const all = await s.request('GET', '/v1/runs');
      assert.equal(all.status, 200, all.text);
      const ids = all.body.data.map((r: { id: string }) => r.id);
      assert.deepEqual(ids.slice(0, 3), [runIds.failing, runIds.tool, runIds.plain]);

      const byAgent = await s.request('GET', `/v1/runs?agent_id=${clock.id}`);
      assert.deepEqual(
        byAgent.body.data.map((r: { id: string }) => r.id),
        [runIds.failing],
      );
      const withError = await s.request('GET', '/v1/runs?has_error=true');
      assert.deepEqual(
        withError.body.data.map((r: { id: string }) => r.id),
        [runIds.failing],
      );
      const withoutError = await s.request('GET', `/v1/runs?has_error=false&agent_id=${calc.id}`);
      assert.deepEqual(
        withoutError.body.data.map((r: { id: string }) => r.id),
        [runIds.tool, runIds.plain],
      );
      const failed = await s.request('GET', '/v1/runs?status=failed');
      assert.equal(failed.status, 200);
      assert.ok(failed.body.data.every((r: { status: string }) => r.status === 'failed'));

      const tool = all.body.data.find((r: { id: string }) => r.id === runIds.tool);
      const bySession = await s.request('GET', `/v1/runs?session_id=${tool.session_id}`);
      assert.deepEqual(
        bySession.body.data.map((r: { id: string }) => r.id),
        [runIds.tool],
      );
      const future = new Date(Date.now() + 3_600_000).toISOString();
      assert.equal((await s.request('GET', `/v1/runs?since=${future}`)).body.data.length, 0);
      const until = await s.request('GET', `/v1/runs?until=${encodeURIComponent(tool.created_at)}`);
      assert.ok(!until.body.data.some((r: { id: string }) => r.id === runIds.tool));
      assert.ok(until.body.data.some((r: { id: string }) => r.id === runIds.plain));
    });

    it('filters runs by cost, a range in USD, and refuses a range that cannot hold a run', async () => {
      // The mock model is free: the tool run's model calls are given a price here, and theirs back after.
      const was = await s.app.db.query<{ idx: number; cost: number | null }>(
        'select idx, cost from run_steps where run_id = $1',
        [runIds.tool],
      );
      await s.app.db.query('update run_steps set cost = 0.0025 where run_id = $1 and kind = $2', [
        runIds.tool,
        'model',
      ]);
      try {
        const ids = async (q: string) => {
          const res = await s.request('GET', `/v1/runs?${q}`);
          assert.equal(res.status, 200, `${q}: ${res.text}`);
          return { ids: res.body.data.map((r: { id: string }) => r.id), total: res.body.total };
        };
        const costly = await ids('min_cost=0.001');
        assert.deepEqual(costly, { ids: [runIds.tool], total: 1 });
        const cheap = await ids('max_cost=0.001');
        assert.deepEqual(cheap.ids, [runIds.failing, runIds.plain]);
        assert.deepEqual((await ids('min_cost=0.001&max_cost=0.01')).ids, [runIds.tool]);
        assert.deepEqual((await ids('min_cost=0.01')).ids, []);
        for (const q of ['min_cost=-1', 'max_cost=cheap', 'min_cost=0.5&max_cost=0.1']) {
          const res = await s.request('GET', `/v1/runs?${q}`);
          assert.equal(res.status, 400, `${q}: ${res.text}`);
          assert.equal(res.body.error.code, 'validation_error');
        }
        const reversed = await s.request('GET', '/v1/runs?min_cost=0.5&max_cost=0.1');
        assert.match(reversed.body.error.message, /max_cost is below min_cost/);
      } finally {
        for (const w of was)
          await s.app.db.query('update run_steps set cost = $3 where run_id = $1 and idx = $2', [
            runIds.tool,
            w.idx,
            w.cost,
          ]);
      }
    });

    it('pages with a cursor until next_cursor is null, each run once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res: { status: number; body: { data: Array<{ id: string }>; next_cursor: string | null } } =
          await s.request('GET', `/v1/runs?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.status, 200);
        seen.push(...res.body.data.map((r) => r.id));
        cursor = res.body.next_cursor;
        if (!cursor) break;
      }
      assert.equal(cursor, null);
      assert.deepEqual(seen, [runIds.failing, runIds.tool, runIds.plain]);
    });

    it('answers bad filters with 400, and keeps other tenants out (404, not listed)', async () => {
      for (const q of ['status=nope', 'since=yesterday', 'limit=0', 'cursor=abc', 'has_error=maybe', 'x=1']) {
        const res = await s.request('GET', `/v1/runs?${q}`);
        assert.equal(res.status, 400, `${q}: ${res.text}`);
        assert.equal(res.body.error.code, 'validation_error');
      }
      const other = await createTenant(s, `traces-other-${store}`);
      const trace = await s.request('GET', `/v1/runs/${runIds.tool}/trace`, { key: other.adminKey });
      assert.equal(trace.status, 404);
      const list = await s.request('GET', '/v1/runs', { key: other.adminKey });
      assert.deepEqual(list.body.data, []);
    });

    it('serves the audit journal to tenant admins, filtered by actor, action, object and time', async () => {
      const res = await s.request('GET', `/v1/journal?action=agent.create&target=${clock.id}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.data.length, 1);
      const entry = res.body.data[0];
      assert.equal(entry.action, 'agent.create');
      assert.equal(entry.target, clock.id);
      assert.match(entry.actor, /^key:/);

      const prefixed = await s.request('GET', '/v1/journal?action=agent.*');
      assert.ok(prefixed.body.data.length >= 2);
      assert.ok(prefixed.body.data.every((e: { action: string }) => e.action.startsWith('agent.')));
      const byActor = await s.request('GET', `/v1/journal?actor=${encodeURIComponent(entry.actor)}&limit=1`);
      assert.equal(byActor.body.data.length, 1);
      assert.ok(byActor.body.next_cursor);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      assert.equal((await s.request('GET', `/v1/journal?since=${future}`)).body.data.length, 0);

      const reader = await createKey(s, ['write']);
      assert.equal((await s.request('GET', '/v1/journal', { key: reader.secret })).status, 403);
      const other = await createTenant(s, `journal-other-${store}`);
      const theirs = await s.request('GET', `/v1/journal?target=${clock.id}`, { key: other.adminKey });
      assert.equal(theirs.status, 200);
      assert.deepEqual(theirs.body.data, []);
    });

    it('deletes ended runs past the retention, with their steps; the retention may be fractional', async () => {
      const age = (id: string | undefined, interval: string) =>
        s.app.db.query(`update runs set completed_at = now() - $2::interval where id = $1`, [id, interval]);
      await age(runIds.plain, '40 days');
      await age(runIds.failing, '13 hours');
      const deleted = await s.app.services.runtime.purgeOld(30);
      assert.equal(deleted, 1);
      assert.equal(await s.app.services.runtime.purgeOld(0.5), 1);
      assert.equal((await s.request('GET', `/v1/runs/${runIds.failing}/trace`)).status, 404);
      assert.equal((await s.request('GET', `/v1/runs/${runIds.plain}/trace`)).status, 404);
      assert.equal((await s.request('GET', `/v1/runs/${runIds.tool}/trace`)).status, 200);
      const [left] = await s.app.db.query<{ n: number }>(
        'select count(*)::int as n from run_steps where run_id = $1',
        [runIds.plain],
      );
      assert.equal(left!.n, 0);
    });

    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    type Span = Record<string, any>;
    const traceOf = async (runId: string): Promise<Span[]> => {
      const res = await s.request('GET', `/v1/runs/${runId}/trace`);
      assert.equal(res.status, 200, res.text);
      return res.body.spans;
    };
    const line = (x: Span) => `${x.id}<${x.parent_id}:${x.kind}:${x.name}:${x.status}`;

    it('shows the wait for approval as a span under the model call that asked, open while it waits', async () => {
      const careful = await createAgent(s, {
        name: 'tr-careful',
        model: 'mock/tr-careful',
        mode: 'COLLABORATIVE',
        tools: ['write_file'],
      });
      s.app.services.models.mock.script('tr-careful', [
        { tool_calls: [{ name: 'write_file', arguments: { path: 'a.txt', content: 'x' } }] },
      ]);
      const paused = await s.request('POST', `/v1/agents/${careful.id}/chat`, {
        body: { message: 'write a.txt', stream: false },
      });
      const runId = paused.body.run_id as string;
      await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${runId}`);
        return r.body.status === 'input_required' || undefined;
      });
      const waiting = (await traceOf(runId)).find((x) => x.kind === 'approval');
      assert.ok(waiting, 'the wait is shown while the run waits');
      assert.equal(waiting.status, 'running');
      assert.equal(waiting.name, 'write_file');

      assert.equal((await s.request('POST', `/v1/runs/${runId}/approve`)).status, 200);
      await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${runId}`);
        return r.body.status === 'completed' || undefined;
      });
      const spans = await traceOf(runId);
      assert.deepEqual(spans.map(line), [
        'run<null:run:tr-careful:ok',
        'step-0<run:model:mock/tr-careful:ok',
        'approval-0<step-0:approval:write_file:ok',
        'step-1<step-0:tool:write_file:ok',
        'step-2<run:model:mock/tr-careful:ok',
      ]);
      const wait = spans[2]!;
      assert.ok(wait.duration_ms >= 0);
      assert.ok(Date.parse(wait.started_at) >= Date.parse(spans[1]!.started_at));
      assert.ok(Date.parse(wait.started_at) + wait.duration_ms <= Date.parse(spans[3]!.started_at) + 1);
      assert.deepEqual(wait.output, { approved: true });
      assert.equal(wait.tool_call_id, spans[3]!.tool_call_id);
    });

    it('marks a denied approval as an error with the reason', async () => {
      const careful = await createAgent(s, {
        name: 'tr-denied',
        model: 'mock/tr-denied',
        mode: 'COLLABORATIVE',
        tools: ['write_file'],
      });
      s.app.services.models.mock.script('tr-denied', [
        { tool_calls: [{ name: 'write_file', arguments: { path: 'b.txt', content: 'x' } }] },
      ]);
      const paused = await s.request('POST', `/v1/agents/${careful.id}/chat`, {
        body: { message: 'write b.txt', stream: false },
      });
      const runId = paused.body.run_id as string;
      await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${runId}`);
        return r.body.status === 'input_required' || undefined;
      });
      const deny = await s.request('POST', `/v1/runs/${runId}/deny`, { body: { reason: 'not today' } });
      assert.equal(deny.status, 200, deny.text);
      await eventually(async () => {
        const r = await s.request('GET', `/v1/runs/${runId}`);
        return r.body.status === 'completed' || undefined;
      });
      const wait = (await traceOf(runId)).find((x) => x.kind === 'approval')!;
      assert.equal(wait.status, 'error');
      assert.equal(wait.error, 'denied: not today');
    });

    it("shows a swarm's handoff as a span from one member to the next, until the end of its turn", async () => {
      const triage = await createAgent(s, {
        name: 'tr-triage',
        model: 'mock/tr-triage',
        handoffs: ['tr-billing'],
      });
      const billing = await createAgent(s, { name: 'tr-billing', model: 'mock/tr-billing' });
      const spec = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'tr-support', kind: 'swarm', members: [triage.id, billing.id] },
      });
      assert.equal(spec.status, 201, spec.text);
      s.app.services.models.mock.script('tr-triage', [
        { tool_calls: [{ name: 'transfer_to_tr-billing', arguments: { reason: 'r' } }] },
      ]);
      s.app.services.models.mock.script('tr-billing', [{ content: 'Billing here.' }]);
      const res = await s.request('POST', `/v1/multi-agents/${spec.body.id}/run`, {
        body: { message: 'I was charged twice', stream: false },
      });
      assert.equal(res.status, 200, res.text);
      const spans = await traceOf(res.body.run_id);
      assert.deepEqual(spans.map(line), [
        'run<null:run:tr-triage:ok',
        'step-0<run:model:mock/tr-triage:ok',
        'step-1<step-0:tool:transfer_to_tr-billing:ok',
        'handoff-0<run:handoff:tr-triage → tr-billing:ok',
        'step-2<run:model:mock/tr-billing:ok',
      ]);
      const [, , , handoff, billingCall] = spans;
      assert.ok(Date.parse(handoff!.started_at) <= Date.parse(billingCall!.started_at));
      assert.ok(handoff!.duration_ms >= billingCall!.duration_ms);
      assert.deepEqual(handoff!.input, { from: 'tr-triage', to: 'tr-billing', handoffs: 1 });
    });

    it('shows a knowledge retrieval before the model call it fed, with the hits it found', async () => {
      const kb = await createKb(s, 'tr-dog-care');
      await addDoc(s, kb.id, {
        source: 'care.md',
        content: '# Dog care\n\n## Feeding\n\nFeed the dog twice a day, morning and evening.\n',
      });
      const carer = await createAgent(s, { name: 'tr-carer', knowledge: ['tr-dog-care'] });
      const { run_id } = await chat(carer.id, 'How often should the dog be fed?');
      const spans = await traceOf(run_id);
      assert.deepEqual(spans.map(line), [
        'run<null:run:tr-carer:ok',
        'retrieval-0<run:retrieval:tr-dog-care:ok',
        'step-0<run:model:mock/default:ok',
      ]);
      const retrieval = spans[1]!;
      assert.ok(retrieval.duration_ms >= 0);
      assert.ok(Date.parse(retrieval.started_at) <= Date.parse(spans[2]!.started_at));
      assert.equal(retrieval.input.query, 'How often should the dog be fed?');
      assert.ok(retrieval.output.chunks > 0);
    });
  });
}
