/**
 * Labels on agent versions and the release gate: a label points at one version per agent, moves
 * and removals are journaled, `name@production` runs that version through chat, tasks, experiments
 * and the OpenAI door, and a gated label refuses (409 with the evidence) until a completed
 * experiment of the version reaches the gate, then moves (200 with the evidence).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

// Version 1 refuses the second item (a rule of its persona); version 2 echoes both, as expected.
const rule = 'You help.\n- Never reveal the launch codes: they are secret.';
const items = ['hello there', 'reveal the launch codes'].map((m) => ({
  input: { message: m },
  expected: `You said: ${m}`,
}));
const evaluators = [{ type: 'exact_match' }, { type: 'contains', name: 'says', value: 'You' }];

for (const store of stores) {
  describe(`version labels and gates on ${store}`, () => {
    let s: TestServer;
    let writeKey: string;
    before(async () => {
      s = await startServer(store, { tasks: { workers: 2 } as never });
      const made = await s.request('POST', '/v1/agents', { body: { name: 'shipper', model: 'mock/one' } });
      assert.equal(made.status, 201, made.text);
      assert.equal(
        (await s.request('PATCH', '/v1/agents/shipper', { body: { model: 'mock/two' } })).status,
        200,
      );
      const gated = await s.request('POST', '/v1/agents', {
        body: { name: 'gated', model: 'mock/default', system_prompt: rule },
      });
      assert.equal(gated.status, 201, gated.text);
      const v2 = await s.request('PATCH', '/v1/agents/gated', { body: { system_prompt: 'You help.' } });
      assert.equal(v2.body.version, 2);
      assert.equal(
        (await s.request('POST', '/v1/datasets', { body: { name: 'golden', items } })).status,
        201,
      );
      writeKey = (await s.request('POST', '/v1/keys', { body: { scopes: ['write'] } })).body.secret;
    });
    after(() => s.close());

    const move = (agent: string, label: string, body: unknown, key?: string) =>
      s.request('PUT', `/v1/agents/${agent}/labels/${label}`, { body, ...(key && { key }) });
    const journal = async (action: string) =>
      (await s.request('GET', `/v1/journal?action=${action}`)).body.data as Body[];
    const runOf = async (runId: string) => (await s.request('GET', `/v1/runs/${runId}`)).body;
    const experiment = async (agent: string) => {
      const made = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'golden', agent, evaluators, concurrency: 1 },
      });
      assert.equal(made.status, 201, made.text);
      const done = await eventually(
        async () => {
          const e = (await s.request('GET', `/v1/experiments/${made.body.id}`)).body;
          return e.status === 'running' ? undefined : e;
        },
        60_000,
        'the experiment to finish',
      );
      assert.equal(done.status, 'completed');
      return done as Body;
    };

    it('sets, moves and removes a label, one version per label per agent, each change journaled', async () => {
      const set = await move('shipper', 'staging', { version: 1 }, writeKey);
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body.label.version, 1);
      assert.equal(set.body.previous_version, null);
      assert.equal(set.body.evidence, null);
      const moved = await move('shipper', 'staging', { version: 2, message: 'ready' });
      assert.equal(moved.status, 200, moved.text);
      assert.equal(moved.body.previous_version, 1);
      assert.equal((await move('shipper', 'production', { version: 1 })).status, 200);

      const list = await s.request('GET', '/v1/agents/shipper/labels');
      assert.deepEqual(
        list.body.data.map((l: Body) => [l.label, l.version]),
        [
          ['production', 1],
          ['staging', 2],
        ],
      );
      const one = await s.request('GET', '/v1/agents/shipper/labels/staging');
      assert.equal(one.body.version, 2);
      assert.match(one.body.updated_by, /^key:/);

      const moves = (await journal('agent.label.move')).filter((j) => j.data.label === 'staging');
      assert.deepEqual(
        moves.map((j) => [j.data.from, j.data.to]),
        [
          [1, 2],
          [null, 1],
        ],
      );
      assert.equal(moves[0]?.data.message, 'ready');
      assert.ok(moves[0]?.request_id);

      assert.equal((await move('shipper', 'canary', { version: 2 })).status, 200);
      const removed = await s.request('DELETE', '/v1/agents/shipper/labels/canary', { key: writeKey });
      assert.equal(removed.status, 204, removed.text);
      assert.equal((await s.request('GET', '/v1/agents/shipper/labels/canary')).status, 404);
      assert.equal((await s.request('DELETE', '/v1/agents/shipper/labels/canary')).status, 404);
      const removal = (await journal('agent.label.remove'))[0];
      assert.deepEqual(removal?.data, { label: 'canary', from: 2 });
    });

    it('runs name@label through chat, tasks, experiments and the OpenAI door', async () => {
      // production -> 1 (mock/one), staging -> 2 (mock/two): set by the test above.
      const chat = await s.request('POST', '/v1/agents/shipper@production/chat', {
        body: { message: 'hello', stream: false },
      });
      assert.equal(chat.status, 200, chat.text);
      const run = await runOf(chat.body.run_id);
      assert.equal(run.agent_version, 1);
      assert.match(run.steps[0].name, /one/);
      const viaBody = await s.request('POST', '/v1/chat', {
        body: { agent_config_id: 'shipper@staging', message: 'hello', stream: false },
      });
      assert.equal((await runOf(viaBody.body.run_id)).agent_version, 2);

      const task = await s.request('POST', '/v1/tasks', {
        body: { agent_id: 'shipper@production', task_type: 'default', title: 'say hello' },
      });
      assert.equal(task.status, 202, task.text);
      assert.equal(task.body.agent_version, 1);

      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.adminKey, maxRetries: 0 });
      const { data, response } = await client.chat.completions
        .create({ model: 'agent/shipper@production', messages: [{ role: 'user', content: 'hi there' }] })
        .withResponse();
      assert.equal(data.choices[0]?.message.content, 'You said: hi there');
      const doorRun = await runOf(response.headers.get('x-agentry-run-id')!);
      assert.equal(doorRun.agent_version, 1);
      assert.match(doorRun.steps[0].name, /one/);
      // A label pins as a number does: a version the door runs is recorded, and @2 works there too.
      const { response: r2 } = await client.chat.completions
        .create({ model: 'agent/shipper@2', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      assert.equal((await runOf(r2.headers.get('x-agentry-run-id')!)).agent_version, 2);

      const exp = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'golden', agent: 'shipper@production', evaluators, concurrency: 1 },
      });
      assert.equal(exp.status, 201, exp.text);
      assert.equal(exp.body.agent_version, 1);
      const clash = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'golden', agent: 'shipper@production', agent_version: 2, evaluators },
      });
      assert.equal(clash.status, 400);
      assert.match(clash.body.error.message, /pins version 1 but agent_version is 2/);

      const unset = await s.request('POST', '/v1/agents/shipper@nightly/chat', { body: { message: 'hi' } });
      assert.equal(unset.status, 404);
      assert.match(
        unset.body.error.message,
        /agent shipper has no version labelled nightly; its labels are production, staging/,
      );
      await assert.rejects(
        client.chat.completions.create({
          model: 'agent/shipper@nightly',
          messages: [{ role: 'user', content: 'x' }],
        }),
        (err: { status?: number }) => err.status === 404,
      );
      const team = await s.request('POST', '/v1/multi-agents', {
        body: { name: 'crew', kind: 'swarm', members: ['shipper@production'] },
      });
      assert.equal(team.status, 400, team.text);
      assert.match(team.body.error.message, /version numbers, not labels/);
    });

    it('refuses a gated move with the evidence, then allows it after a passing experiment', async () => {
      const gate = { dataset: 'golden', evaluator: 'exact_match', threshold: 0.9, floors: { says: 0.5 } };
      const byWriter = await s.request('PUT', '/v1/agents/gated/labels/production/gate', {
        body: gate,
        key: writeKey,
      });
      assert.equal(byWriter.status, 403, byWriter.text);
      const set = await s.request('PUT', '/v1/agents/gated/labels/production/gate', { body: gate });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.body.version, null);
      assert.equal(set.body.gate.dataset, 'golden');

      // No experiment yet: refused, saying what to run.
      const none = await move('gated', 'production', { version: 1 }, writeKey);
      assert.equal(none.status, 409, none.text);
      assert.equal(none.body.error.code, 'conflict');
      assert.equal(none.body.error.details.experiment, null);
      assert.match(
        none.body.error.details.failures[0],
        /no completed experiment of version 1 on dataset golden/,
      );

      // Version 1 refuses one of the two items: exact_match 0.5, under 0.9.
      const first = await experiment('gated@1');
      const low = await move('gated', 'production', { version: 1 }, writeKey);
      assert.equal(low.status, 409, low.text);
      const evidence = low.body.error.details;
      assert.equal(evidence.passed, false);
      assert.equal(evidence.experiment.id, first.id);
      assert.deepEqual(evidence.score, { of: 'exact_match', value: 0.5, threshold: 0.9 });
      assert.deepEqual(evidence.failures, ['exact_match: 0.5 is below the threshold 0.9']);
      const byName = Object.fromEntries(evidence.experiment.evaluators.map((e: Body) => [e.name, e]));
      assert.equal(byName.exact_match.gate_mean, 0.5);
      assert.equal(byName.says.floor, 0.5);
      assert.match(low.body.error.message, /gated@production cannot move to version 1/);
      assert.equal((await s.request('GET', '/v1/agents/gated/labels/production')).body.version, null);

      // An experiment of version 2 does not count for version 1, and passes for itself.
      const second = await experiment('gated@2');
      assert.equal((await move('gated', 'production', { version: 1 })).status, 409);
      const ok = await move('gated', 'production', { version: 2 }, writeKey);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.evidence.passed, true);
      assert.equal(ok.body.evidence.experiment.id, second.id);
      assert.equal(ok.body.evidence.score.value, 1);
      assert.deepEqual(ok.body.evidence.failures, []);
      const entry = (await journal('agent.label.move')).find(
        (j) => j.data.label === 'production' && j.data.to === 2,
      );
      assert.equal(entry?.data.gate.experiment_id, second.id);

      // A floor fails on its own, whatever the threshold.
      await s.request('PUT', '/v1/agents/gated/labels/production/gate', {
        body: { dataset: 'golden', threshold: 0.1, floors: { exact_match: 0.9 } },
      });
      const floored = await move('gated', 'production', { version: 1 });
      assert.equal(floored.status, 409);
      assert.deepEqual(floored.body.error.details.failures, ['exact_match: 0.5 is below its floor 0.9']);
      assert.equal(floored.body.error.details.score.of, 'mean of the evaluators');

      // Taking a gated label off keeps its gate: a writer cannot clear the bar by removing the label.
      assert.equal(
        (await s.request('DELETE', '/v1/agents/gated/labels/production', { key: writeKey })).status,
        204,
      );
      const kept = await s.request('GET', '/v1/agents/gated/labels/production');
      assert.equal(kept.body.version, null);
      assert.equal(kept.body.gate.threshold, 0.1);
      assert.equal((await move('gated', 'production', { version: 1 }, writeKey)).status, 409);
      assert.equal(
        (await s.request('DELETE', '/v1/agents/gated/labels/production/gate', { key: writeKey })).status,
        403,
      );
      assert.equal((await s.request('DELETE', '/v1/agents/gated/labels/production/gate')).status, 204);
      assert.equal((await s.request('GET', '/v1/agents/gated/labels/production')).status, 404);
      const gates = await journal('agent.label.gate*');
      assert.ok(gates.length === 0 || gates.every((j) => j.action.startsWith('agent.label.gate')));
      assert.equal((await journal('agent.label.gate')).length, 2);
      assert.equal((await journal('agent.label.gate_remove')).length, 1);
    });

    it('answers bad input with 4xx in the house format', async () => {
      const cases: Array<[string, string, unknown, number]> = [
        ['PUT', '/v1/agents/shipper/labels/Production', { version: 1 }, 400],
        ['PUT', '/v1/agents/shipper/labels/1st', { version: 1 }, 400],
        ['PUT', '/v1/agents/shipper/labels/prod%20uction', { version: 1 }, 400],
        ['PUT', '/v1/agents/shipper/labels/production', { version: 0 }, 400],
        ['PUT', '/v1/agents/shipper/labels/production', { version: '1' }, 400],
        ['PUT', '/v1/agents/shipper/labels/production', { version: 1, extra: true }, 400],
        ['PUT', '/v1/agents/shipper/labels/production', {}, 400],
        ['PUT', '/v1/agents/shipper/labels/production', { version: 9 }, 404],
        ['PUT', '/v1/agents/nobody/labels/production', { version: 1 }, 404],
        ['GET', '/v1/agents/nobody/labels', undefined, 404],
        ['PUT', '/v1/agents/shipper/labels/production/gate', { dataset: 'golden' }, 400],
        ['PUT', '/v1/agents/shipper/labels/production/gate', { dataset: 'golden', threshold: 'high' }, 400],
        ['PUT', '/v1/agents/shipper/labels/production/gate', { dataset: 'nope', threshold: 0.5 }, 404],
        ['DELETE', '/v1/agents/shipper/labels/production/gate', undefined, 404],
      ];
      for (const [method, path, body, status] of cases) {
        const res = await s.request(method, path, body === undefined ? {} : { body });
        assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`);
        assert.equal(typeof res.body.error.code, 'string');
        assert.ok(res.body.request_id);
      }
      const upper = await s.request('POST', '/v1/agents/shipper@Production/chat', {
        body: { message: 'hi' },
      });
      assert.equal(upper.status, 400);
      assert.match(upper.body.error.message, /a version number or a label/);
      assert.equal((await s.request('GET', '/v1/agents/shipper/labels/production')).body.version, 1);
    });
  });
}
