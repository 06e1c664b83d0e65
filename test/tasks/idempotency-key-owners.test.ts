/**
 * A client-chosen key never hands out another user's private task. Idempotency keys are the
 * tenant's (a client's retry may come through another of its keys), so when Bob (another user of
 * the tenant) sends the key of a task of Alice's private agent, on POST /v1/tasks or as a Soma
 * delegation's task_id, he gets a 409 that names the field and nothing of the task: not its id,
 * title or result, nor whose it is. Alice and the tenant's admin get her task back as before, a key
 * of a task the tenant shares still answers that task, and another tenant's key space is its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { waitForStatus } from './helpers.ts';

const marker = 'quince-5512';

for (const store of stores) {
  describe(`idempotency keys between users and tenants (${store})`, () => {
    let s: TestServer;
    let alice: string;
    let bob: string;
    let taskId: string;
    let sharedTaskId: string;

    before(async () => {
      s = await startServer(store, { compat: { soma: true } });
      const key = async (owner: string) => {
        const r = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner } });
        assert.equal(r.status, 201, r.text);
        return r.body.secret as string;
      };
      alice = await key('user:alice');
      bob = await key('user:bob');
      const made = await s.request('POST', '/v1/agents', {
        key: alice,
        body: { name: 'vault', visibility: 'private' },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(
        (await s.request('POST', '/v1/agents', { key: alice, body: { name: 'desk' } })).status,
        201,
      );
      const task = await s.request('POST', '/v1/tasks', {
        key: alice,
        body: {
          agent_id: 'vault',
          task_type: 'default',
          title: `keep ${marker}`,
          idempotency_key: 'alice-1',
        },
      });
      assert.equal(task.status, 202, task.text);
      taskId = task.body.id;
      const delegated = await s.request('POST', '/v1/delegation/task', {
        key: alice,
        body: { task_id: 'alice-soma-1', agent: 'vault', title: `soma ${marker}` },
      });
      assert.equal(delegated.status, 200, delegated.text);
      const shared = await s.request('POST', '/v1/tasks', {
        key: alice,
        body: { agent_id: 'desk', task_type: 'default', title: 'for the team', idempotency_key: 'team-1' },
      });
      assert.equal(shared.status, 202, shared.text);
      sharedTaskId = shared.body.id;
      // Finished, so a leak would carry its result too.
      assert.equal((await waitForStatus(s, taskId, ['completed'])).status, 'completed');
    });
    after(() => s.close());

    const saysNothingOf = (text: string, what: string) => {
      for (const secret of [marker, taskId, 'vault'])
        assert.ok(!text.includes(secret), `${what} says ${secret}: ${text}`);
    };

    it("answers Bob's POST /v1/tasks with Alice's key 409, naming only the field", async () => {
      for (const agent of ['desk', 'vault']) {
        const res = await s.request('POST', '/v1/tasks', {
          key: bob,
          body: { agent_id: agent, task_type: 'default', title: 'mine', idempotency_key: 'alice-1' },
        });
        if (agent === 'vault') {
          // Her agent itself is not found for him, before any key is looked at.
          assert.equal(res.status, 404, res.text);
          continue;
        }
        assert.equal(res.status, 409, res.text);
        assert.equal(res.body.error.details[0].path, 'idempotency_key');
        saysNothingOf(res.text, 'the conflict');
      }
      // No task was made for Bob either.
      const listed = await s.request('GET', '/v1/tasks?limit=100', { key: bob });
      assert.ok(!listed.body.data.some((t: { title: string }) => t.title === 'mine'), listed.text);
    });

    it("answers Bob's Soma delegation with Alice's task_id 409, and his poll and callback 404", async () => {
      for (const ref of ['alice-1', 'alice-soma-1']) {
        const res = await s.request('POST', '/v1/delegation/task', {
          key: bob,
          body: { task_id: ref, agent: 'desk', title: 'mine' },
        });
        assert.equal(res.status, 409, res.text);
        saysNothingOf(res.text, `the delegation of ${ref}`);
        const poll = await s.request('GET', `/v1/delegation/task/${ref}`, { key: bob });
        assert.equal(poll.status, 404, poll.text);
        const report = await s.request('POST', '/callback', {
          key: bob,
          body: { task_id: ref, status: 'completed', result: 'forged' },
        });
        assert.equal(report.status, 404, report.text);
        saysNothingOf(report.text, `the callback of ${ref}`);
      }
      const task = await s.request('GET', `/v1/tasks/${taskId}`, { key: alice });
      assert.notEqual(task.body.result, 'forged');
    });

    it('gives Alice and the admin her task back, and anyone a task the tenant shares', async () => {
      for (const key of [alice, undefined]) {
        const again = await s.request('POST', '/v1/tasks', {
          key,
          body: { agent_id: 'desk', task_type: 'default', title: 'again', idempotency_key: 'alice-1' },
        });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.body.id, taskId);
        const soma = await s.request('POST', '/v1/delegation/task', {
          key,
          body: { task_id: 'alice-1', agent: 'desk' },
        });
        assert.equal(soma.status, 200, soma.text);
        assert.equal(soma.body.id, taskId);
      }
      const shared = await s.request('POST', '/v1/tasks', {
        key: bob,
        body: { agent_id: 'desk', task_type: 'default', title: 'again', idempotency_key: 'team-1' },
      });
      assert.equal(shared.status, 200, shared.text);
      assert.equal(shared.body.id, sharedTaskId);
    });

    it("keeps another tenant's keys apart: the same key makes its own task there", async () => {
      const other = await createTenant(s, 'initech');
      const agent = await s.request('POST', '/v1/agents', { key: other.adminKey, body: { name: 'desk' } });
      assert.equal(agent.status, 201, agent.text);
      const res = await s.request('POST', '/v1/tasks', {
        key: other.adminKey,
        body: { agent_id: 'desk', task_type: 'default', title: 'theirs', idempotency_key: 'alice-1' },
      });
      assert.equal(res.status, 202, res.text);
      assert.notEqual(res.body.id, taskId);
      saysNothingOf(res.text, 'the other tenant');
      const soma = await s.request('POST', '/v1/delegation/task', {
        key: other.adminKey,
        body: { task_id: 'alice-soma-1', agent: 'desk' },
      });
      assert.equal(soma.status, 200, soma.text);
      saysNothingOf(soma.text, 'the other tenant');
    });
  });
}
