import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { stores, type TestServer } from '../helpers/server.ts';
import { createAgent, startQueueServer, waitForStatus } from '../tasks/helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Body = Record<string, any>;

/**
 * Work handed to an agent goes through one runner (runtime/agent-runner.ts): a queued task and an
 * experiment's item of the same task type get the same prompt, the type's template as at the version
 * that runs. The mock model answers `You said: <prompt>`, so an answer shows the prompt it was given.
 */

async function finished(s: TestServer, id: string): Promise<Body> {
  return eventually(
    async () => {
      const res = await s.request('GET', `/v1/experiments/${id}`);
      return res.body.status === 'running' ? undefined : res.body;
    },
    60_000,
    `experiment ${id} to finish`,
  );
}

async function onlyOutput(s: TestServer, experiment: string): Promise<string> {
  const done = await finished(s, experiment);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  const items = await s.request('GET', `/v1/experiments/${experiment}/items`);
  assert.equal(items.body.data.length, 1, items.text);
  return items.body.data[0].output;
}

const brief = (prompt_template: string) => ({ name: 'brief', prompt_template });
const work = { task_type: 'brief', title: 'the week', payload: { who: 'Ana' } };

for (const store of stores) {
  describe(`the agent runner on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startQueueServer(store);
    });
    after(() => s.close());

    it('renders a task type alike for a queued task and an experiment item, at the version each runs', async () => {
      const agent = await createAgent(s, 'briefer', [brief('Brief {{title}} for {{payload.who}}')]);
      const changed = await s.request('PATCH', `/v1/agents/${agent.id}`, {
        body: { task_types: [brief('Brief again: {{title}} / {{payload.who}} / {{task_type}}')] },
      });
      assert.equal(changed.body.version, 2, changed.text);

      // A queued task at the latest version and one pinned to the first, each through the queue's handler.
      const answers: string[] = [];
      for (const agent_id of [agent.id, 'briefer@1']) {
        const queued = await s.request('POST', '/v1/tasks', { body: { agent_id, ...work } });
        assert.equal(queued.status, 202, queued.text);
        const task = await waitForStatus(s, queued.body.id, ['completed', 'failed', 'dead']);
        assert.equal(task.status, 'completed', JSON.stringify(task));
        answers.push(task.result.answer);
      }
      assert.deepEqual(answers, [
        'You said: Brief again: the week / Ana / brief',
        'You said: Brief the week for Ana',
      ]);

      const ds = await s.request('POST', '/v1/datasets', {
        body: { name: 'briefs', items: [{ input: work }] },
      });
      assert.equal(ds.status, 201, ds.text);
      const evaluators = [{ type: 'contains', name: 'says', value: 'said' }];
      const latest = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'briefs', agent: 'briefer', evaluators },
      });
      assert.equal(latest.status, 201, latest.text);
      assert.equal(await onlyOutput(s, latest.body.id), answers[0]);
      const pinned = await s.request('POST', '/v1/experiments', {
        body: { dataset: 'briefs', agent: 'briefer@1', evaluators },
      });
      assert.equal(pinned.status, 201, pinned.text);
      assert.equal(await onlyOutput(s, pinned.body.id), answers[1]);
    });
  });
}
