import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

const cheap = [
  { type: 'exact_match' },
  { type: 'contains', name: 'says', value: 'said' },
  { type: 'regex', pattern: '^You said: [a-z]+$' },
];

async function finished(s: TestServer, id: string, ms = 60_000): Promise<Body> {
  return eventually(
    async () => {
      const res = await s.request('GET', `/v1/experiments/${id}`);
      return res.body.status === 'running' ? undefined : res.body;
    },
    ms,
    `experiment ${id} to finish`,
  );
}

for (const store of stores) {
  describe(`experiments on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, {
        sandbox: {
          // The evaluators' sandboxes: neither the wait for one nor a program's time limit is what
          // these tests are about (the spinning evaluator sets its own), so both are far past a
          // loaded machine's pauses. (Under a CPU hog the throwing evaluator once gave no "boom".)
          pools: { bwrap: { size: 0 }, quickjs: { size: 2, acquire_timeout_ms: 60_000 } },
          limits: { timeout_ms: 60_000 },
        } as never,
        // The doomed agent's items (its only user) take 2 s each: its deletion lands while some are
        // left on a loaded machine too (150 ms was the time of one slow request there).
        models: { mock: { delays: { slow: 2_000 } } } as never,
        tasks: { workers: 4 } as never,
      });
      assert.equal(
        (await s.request('POST', '/v1/agents', { body: { name: 'echo', model: 'mock/default' } })).status,
        201,
      );
      await s.request('POST', '/v1/agents', { body: { name: 'judge-agent', model: 'mock/judge' } });
      const items = ['apple', 'banana', 'cherry', 'damson'].map((w, i) => ({
        input: { message: w },
        // The last one expects what the echo agent will not say.
        expected: i === 3 ? 'something else' : `You said: ${w}`,
      }));
      const ds = await s.request('POST', '/v1/datasets', { body: { name: 'fruit', items } });
      assert.equal(ds.status, 201, ds.text);
    });
    after(() => s.close());

    it('runs an agent over a dataset, scores every item and summarises per evaluator', async () => {
      const created = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'fruit',
          agent: 'echo',
          concurrency: 2,
          evaluators: [
            ...cheap,
            { type: 'llm_judge', model: 'mock/judge', rubric: 'Is the answer right?' },
            { type: 'latency_under', max: 60_000 },
            { type: 'json_valid' },
          ],
        },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.progress.total, 4);
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.completed, 4);
      const by = Object.fromEntries(done.summary.evaluators.map((e: Body) => [e.name, e]));
      assert.equal(by.exact_match.pass_rate, 0.75);
      assert.equal(by.says.mean, 1);
      assert.equal(by.regex.pass_rate, 1);
      assert.equal(by.json_valid.pass_rate, 0);
      assert.equal(by.latency_under.pass_rate, 1);
      // The mock judge: three outputs hold their expected answer, the fourth shares no word with it.
      assert.equal(by.llm_judge.mean, 0.75);
      assert.equal(done.summary.pass_rate, 0);
      assert.ok(done.summary.latency_ms.p50 > 0);
      assert.ok(done.summary.latency_ms.p95 >= done.summary.latency_ms.p50);
      assert.ok(done.summary.tokens > 0);

      const items = await s.request('GET', `/v1/experiments/${created.body.id}/items`);
      assert.equal(items.body.total, 4);
      const last = items.body.data[3];
      assert.equal(last.output, 'You said: damson');
      const exact = last.scores.find((x: Body) => x.name === 'exact_match');
      assert.equal(exact.pass, false);
      assert.match(exact.reason, /expected "something else"/);
      assert.match(last.scores.find((x: Body) => x.name === 'llm_judge').reason, /mock judge/);
      assert.ok(last.run_id);
      const run = await s.request('GET', `/v1/runs/${last.run_id}`);
      assert.equal(run.status, 200);
      const failed = await s.request('GET', `/v1/experiments/${created.body.id}/items?failed=exact_match`);
      assert.equal(failed.body.total, 1);

      const events = await s.request('GET', `/v1/experiments/${created.body.id}/events`);
      const types = events.body.data.map((e: Body) => e.type);
      assert.equal(types.filter((t: string) => t === 'experiment.item').length, 4);
      assert.equal(types.at(-1), 'experiment.completed');
      assert.equal(
        Math.max(
          ...events.body.data.filter((e: Body) => e.type === 'experiment.item').map((e: Body) => e.data.done),
        ),
        4,
      );

      const metrics = await s.request('GET', '/metrics');
      assert.match(metrics.text, /agentry_eval_items_total\{outcome="completed"\} 4/);
      assert.match(metrics.text, /agentry_eval_scores_total\{evaluator="exact_match",outcome="fail"\} 1/);
    });

    it('gives a custom evaluator that throws or loops an error on the item, keeping the other scores', async () => {
      const created = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'fruit',
          agent: 'echo',
          concurrency: 1,
          evaluators: [
            {
              type: 'javascript',
              name: 'short',
              code: 'input.output.length < 20 ? {score: 1, reason: "short"} : 0',
            },
            { type: 'javascript', name: 'throws', code: 'throw new Error("boom")' },
            { type: 'exact_match' },
          ],
        },
      });
      assert.equal(created.status, 201, created.text);
      const done = await finished(s, created.body.id);
      const by = Object.fromEntries(done.summary.evaluators.map((e: Body) => [e.name, e]));
      assert.equal(by.short.mean, 1);
      assert.equal(by.throws.errors, 4);
      assert.equal(by.exact_match.scored, 4);
      const items = await s.request('GET', `/v1/experiments/${created.body.id}/items?limit=1`);
      const scores = Object.fromEntries(items.body.data[0].scores.map((x: Body) => [x.name, x]));
      assert.match(scores.throws.error, /boom/);
      assert.equal(scores.throws.score, null);
      assert.equal(scores.short.reason, 'short');

      // A spinning evaluator is stopped at its time limit; the item keeps its other scores.
      const looping = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'fruit',
          agent: 'echo',
          concurrency: 1,
          evaluators: [
            { type: 'javascript', name: 'loops', code: 'for (;;) {}', timeout_ms: 100 },
            { type: 'exact_match' },
          ],
        },
      });
      const stopped = await finished(s, looping.body.id);
      const looped = Object.fromEntries(stopped.summary.evaluators.map((e: Body) => [e.name, e]));
      assert.equal(looped.loops.errors, 4);
      assert.equal(looped.exact_match.scored, 4);
      assert.equal(stopped.progress.completed, 4);
    });

    it('compares experiments item by item: what regressed and by how much', async () => {
      const a = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'echo', evaluators: cheap },
      });
      const b = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'judge-agent', evaluators: cheap },
      });
      await finished(s, a.body.id);
      await finished(s, b.body.id);
      const cmp = await s.request('GET', `/v1/experiments/compare?ids=${a.body.id},${b.body.id}`);
      assert.equal(cmp.status, 200, cmp.text);
      assert.equal(cmp.body.baseline, a.body.id);
      assert.equal(cmp.body.items.length, 4);
      // Echo scores 1 on the first three (all three evaluators); the judge model's JSON matches none.
      assert.equal(cmp.body.counts[0].regressed, 4);
      const first = cmp.body.items[0];
      assert.equal(first.results[0].mean, 1);
      assert.equal(first.changes[0].change, 'regressed');
      assert.equal(first.changes[0].delta, -1);
      const only = await s.request(
        'GET',
        `/v1/experiments/compare?ids=${a.body.id},${b.body.id}&change=improved`,
      );
      assert.equal(only.body.items.length, 0);
      const bad = await s.request('GET', `/v1/experiments/compare?ids=${a.body.id}`);
      assert.equal(bad.status, 400);
    });

    it('stops with budget_exhausted when its own budget is spent, and resumes without redoing finished items', async () => {
      const created = await s.request('POST', '/v1/experiments', {
        body: {
          dataset: 'fruit',
          agent: 'echo',
          evaluators: cheap,
          concurrency: 1,
          budget: { max_tokens: 1 },
        },
      });
      const stopped = await finished(s, created.body.id);
      assert.equal(stopped.status, 'budget_exhausted');
      assert.match(stopped.stop_reason, /tokens is spent/);
      assert.equal(stopped.progress.completed, 1);
      assert.equal(stopped.progress.pending, 3);
      const firstRun = (await s.request('GET', `/v1/experiments/${created.body.id}/items?status=completed`))
        .body.data[0];
      // Lift the budget and carry on.
      await s.app.db.query(`update experiments set budget = '{}' where id = $1`, [created.body.id]);
      const resumed = await s.request('POST', `/v1/experiments/${created.body.id}/resume`);
      assert.equal(resumed.status, 200, resumed.text);
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.completed, 4);
      const items = (await s.request('GET', `/v1/experiments/${created.body.id}/items`)).body.data;
      assert.equal(items.find((i: Body) => i.id === firstRun.id).run_id, firstRun.run_id);
      const again = await s.request('POST', `/v1/experiments/${created.body.id}/resume`);
      assert.equal(again.status, 409);
    });

    it('takes up lanes interrupted mid-item: the run an item had is followed, one it had not is started', async () => {
      const created = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'echo', evaluators: cheap },
      });
      await finished(s, created.body.id);
      const before = (await s.request('GET', `/v1/experiments/${created.body.id}/items`)).body.data;
      // As workers that died holding items leave them: running in their lanes, the experiment not
      // done. Lane 0 died after its item's run had started (here, ended); lane 1 before it started.
      const db = s.app.db;
      await db.query(`update experiment_items set status = 'running', lane = 0 where id = $1`, [
        before[1].id,
      ]);
      await db.query(`update experiment_items set status = 'running', lane = 1 where id = $1`, [
        before[2].id,
      ]);
      await db.query('delete from runs where id = $1', [before[2].run_id]);
      await db.query(`update experiments set status = 'cancelled' where id = $1`, [created.body.id]);
      await s.request('POST', `/v1/experiments/${created.body.id}/resume`);
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed');
      const after = (await s.request('GET', `/v1/experiments/${created.body.id}/items`)).body.data;
      for (const i of [0, 1, 3])
        assert.equal(after[i].run_id, before[i].run_id, `item ${i} was not run again`);
      assert.equal(after[1].status, 'completed');
      assert.notEqual(after[2].run_id, before[2].run_id);
      assert.equal(after[2].status, 'completed');
    });

    it('gives each later item an error state when the agent is deleted mid-experiment, keeping what was scored', async () => {
      const agent = await s.request('POST', '/v1/agents', { body: { name: 'doomed', model: 'mock/slow' } });
      const created = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'doomed', evaluators: cheap, concurrency: 1 },
      });
      await eventually(async () => {
        const e = await s.request('GET', `/v1/experiments/${created.body.id}`);
        return e.body.progress.completed >= 1 ? true : undefined;
      });
      const del = await s.request('DELETE', `/v1/agents/${agent.body.id}`);
      assert.equal(del.status, 204, del.text);
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed');
      assert.ok(done.progress.completed >= 1);
      assert.ok(done.progress.errors >= 1);
      assert.equal(done.progress.completed + done.progress.errors, 4);
      const errors = (await s.request('GET', `/v1/experiments/${created.body.id}/items?status=error`)).body
        .data;
      assert.match(errors.at(-1).error.message, /not found|no longer/);
      const ok = (await s.request('GET', `/v1/experiments/${created.body.id}/items?status=completed`)).body
        .data;
      assert.equal(ok[0].scores.length, 3);
    });

    it('runs the pinned version of an agent that has changed since, and the latest when unpinned', async () => {
      const agent = await s.request('POST', '/v1/agents', {
        body: { name: 'evolving', model: 'mock/default', system_prompt: 'Repeat what you hear.' },
      });
      assert.equal(agent.status, 201, agent.text);
      const patched = await s.request('PATCH', `/v1/agents/${agent.body.id}`, {
        body: { model: 'mock/judge', system_prompt: 'Grade what you hear.' },
      });
      assert.equal(patched.body.version, 2, patched.text);
      const pinned = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'evolving@1', evaluators: cheap, concurrency: 2 },
      });
      assert.equal(pinned.status, 201, pinned.text);
      assert.equal(pinned.body.agent_version, 1);
      const latest = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'evolving', evaluators: cheap, concurrency: 2 },
      });
      assert.equal((await finished(s, pinned.body.id)).summary.evaluators[1].mean, 1);
      await finished(s, latest.body.id);

      const [first] = (await s.request('GET', `/v1/experiments/${pinned.body.id}/items?limit=1`)).body.data;
      assert.equal(first.output, 'You said: apple');
      const run = await s.request('GET', `/v1/runs/${first.run_id}`);
      assert.equal(run.body.agent_version, 1);
      const [now] = (await s.request('GET', `/v1/experiments/${latest.body.id}/items?limit=1`)).body.data;
      assert.notEqual(now.output, 'You said: apple');
      assert.equal((await s.request('GET', `/v1/runs/${now.run_id}`)).body.agent_version, 2);

      const never = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', agent: 'evolving', agent_version: 9, evaluators: cheap },
      });
      assert.equal(never.status, 404, never.text);
      assert.match(never.body.error.message, /version 9/);
    });

    it('runs a team over a dataset: each item a run of the team through its entry agent', async () => {
      const writer = await s.request('POST', '/v1/agents', {
        body: { name: 'writer', model: 'mock/default' },
      });
      const critic = await s.request('POST', '/v1/agents', { body: { name: 'critic', model: 'mock/judge' } });
      const team = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'crew', kind: 'swarm', members: [writer.body.id, critic.body.id] },
      });
      assert.equal(team.status, 201, team.text);
      const created = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'fruit', team: 'crew', evaluators: cheap, concurrency: 2 },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.team_id, team.body.id);
      assert.equal(created.body.team_name, 'crew');
      assert.equal(created.body.agent_id, writer.body.id);
      assert.equal(created.body.name, 'crew on fruit');
      const done = await finished(s, created.body.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.completed, 4);
      const [first] = (await s.request('GET', `/v1/experiments/${created.body.id}/items?limit=1`)).body.data;
      assert.equal(first.output, 'You said: apple');
      // A team's run records every member's version; one agent's records none.
      const run = await s.request('GET', `/v1/runs/${first.run_id}`);
      assert.deepEqual(run.body.member_versions, { [writer.body.id]: 1, [critic.body.id]: 1 });
    });

    it('refuses bad experiments with 4xx naming the problem', async () => {
      const cases: [Body, number, RegExp][] = [
        [{ dataset: 'fruit', agent: 'echo', evaluators: [{ type: 'nope' }] }, 400, /type/],
        [
          { dataset: 'fruit', agent: 'echo', evaluators: [{ type: 'regex', pattern: '(?<=a)b' }] },
          400,
          /pattern/,
        ],
        [
          {
            dataset: 'fruit',
            agent: 'echo',
            evaluators: [{ type: 'json_schema', schema: { type: 'nope' } }],
          },
          400,
          /schema/,
        ],
        [
          { dataset: 'fruit', agent: 'echo', evaluators: [{ type: 'exact_match' }, { type: 'exact_match' }] },
          400,
          /name/,
        ],
        [{ dataset: 'nope', agent: 'echo', evaluators: cheap }, 404, /dataset/],
        [{ dataset: 'fruit', agent: 'nobody', evaluators: cheap }, 404, /agent/],
        [{ dataset: 'fruit', agent: 'echo@2', agent_version: 3, evaluators: cheap }, 400, /disagree/],
        [
          { dataset: 'fruit', evaluators: cheap },
          400,
          /give one of agent, team, prompt, or subject: external/,
        ],
        [
          { dataset: 'fruit', agent: 'echo', team: 'crew', evaluators: cheap },
          400,
          /give one of agent, team, prompt, or subject: external/,
        ],
        [{ dataset: 'fruit', team: 'crew', agent_version: 1, evaluators: cheap }, 400, /pinned in its spec/],
        [{ dataset: 'fruit', team: 'nobody', evaluators: cheap }, 404, /multi-agent spec/],
      ];
      for (const [body, status, message] of cases) {
        const res = await s.request('POST', '/v1/experiments', { body });
        assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
        assert.match(JSON.stringify(res.body.error), message);
      }
      const kinds = await s.request('GET', '/v1/evaluators/kinds');
      assert.ok(kinds.body.data.some((k: Body) => k.type === 'llm_judge' && k.params.properties.rubric));
    });
  });
}
