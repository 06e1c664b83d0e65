/**
 * ZORA's Workers API driven as its document shows it (zora-agent-runtime.md): tasks for the six
 * named agents of the operations team, created, listed with its filters and read back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** ZORA's six agents, each with one of its task types. */
const zoraAgents: Record<string, string> = {
  CONNOR: 'review_system_health',
  LUMINA: 'plan_workflow',
  EIVOR: 'summarize_recent_events',
  ORACLE: 'research_topic',
  AEGIS: 'check_climate_claims',
  SAM: 'review_accessibility',
};

for (const store of stores) {
  describe(`ZORA contract on ${store}`, () => {
    let s: TestServer;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${s.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
      const json: any = await res.json();
      return { status: res.status, body: json };
    };
    before(async () => {
      // The operations team (ZORA's six agents) is seeded as on a fresh install; no worker runs, so
      // tasks stay where the test puts them.
      s = await startServer(store, {
        ops_team: { seed: true },
        tasks: { workers: 0 },
        compat: { zora: true },
      });
    });
    after(async () => {
      await s.close();
    });

    it("creates a task for LUMINA with ZORA's fields and shows it with the agent's name", async () => {
      const created = await call('POST', '/api/agents/tasks', {
        agent_id: 'LUMINA',
        task_type: 'plan_frontend_improvements',
        title: 'Review dashboard page',
        description: 'Analyze the dashboard and suggest improvements',
        payload: { page: 'dashboard' },
        priority: 5,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.agent_id, 'LUMINA');
      assert.equal(created.body.status, 'pending');
      assert.equal(created.body.priority, 5);
      assert.deepEqual(created.body.payload, { page: 'dashboard' });
      const got = await call('GET', `/api/agents/tasks/${created.body.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.title, 'Review dashboard page');
    });

    it('has all six agents and their task types, addressed case-insensitively', async () => {
      for (const [name, type] of Object.entries(zoraAgents)) {
        const res = await call('POST', '/api/agents/tasks', {
          agent_id: name.toLowerCase(),
          task_type: type,
          title: `task for ${name}`,
        });
        assert.equal(res.status, 201, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.agent_id, name);
      }
      const lumina = await s.request('GET', '/v1/agents?name=LUMINA');
      const types = lumina.body.data[0].task_types.map((t: { name: string }) => t.name);
      assert.ok(
        types.includes('plan_frontend_improvements') && types.includes('plan_workflow'),
        types.join(),
      );
    });

    it('lists with agent_id, status, task_type, limit and offset', async () => {
      const mine = await call('GET', '/api/agents/tasks?agent_id=LUMINA&status=pending&limit=50&offset=0');
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      assert.ok(mine.body.tasks.length >= 2);
      assert.ok(mine.body.tasks.every((t: { agent_id: string }) => t.agent_id === 'LUMINA'));
      const typed = await call('GET', '/api/agents/tasks?task_type=plan_frontend_improvements');
      assert.equal(typed.body.tasks.length, 1);
      const paged = await call('GET', '/api/agents/tasks?limit=2&offset=1');
      assert.equal(paged.body.tasks.length, 2);
      assert.equal(paged.body.offset, 1);
      // A cancelled task shows as failed (ZORA has four statuses).
      const id = mine.body.tasks[0].id;
      await s.request('POST', `/v1/tasks/${id}/cancel`);
      const after = await call('GET', `/api/agents/tasks/${id}`);
      assert.equal(after.body.status, 'failed');
      assert.ok(after.body.error_message);
    });

    it('refuses what ZORA would refuse, with 4xx', async () => {
      assert.equal(
        (await call('POST', '/api/agents/tasks', { agent_id: 'LUMINA', task_type: 'x' })).status,
        400,
      );
      assert.equal(
        (await call('POST', '/api/agents/tasks', { agent_id: 'NOBODY', task_type: 'x', title: 't' })).status,
        404,
      );
      assert.equal((await call('GET', '/api/agents/tasks?status=cancelled')).status, 400);
      assert.equal((await call('GET', '/api/agents/tasks/not-a-uuid')).status, 400);
      const unauth = await fetch(`${s.url}/api/agents/tasks`);
      assert.equal(unauth.status, 401);
    });
    it('gives every new tenant the six agents, and its creation says so', async () => {
      const made = await s.request('POST', '/v1/tenants', { body: { name: `zora-${store}` } });
      assert.equal(made.status, 201, made.text);
      assert.deepEqual([...made.body.agents].sort(), Object.keys(zoraAgents).sort());
      const res = await s.request('POST', '/api/agents/tasks', {
        key: made.body.admin_key.secret,
        body: { agent_id: 'LUMINA', task_type: 'plan_workflow', title: 'in a new tenant' },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.agent_id, 'LUMINA');
    });

    it('shows the user who created a task as created_by_user_id, not the key', async () => {
      const key = await s.request('POST', '/v1/keys', { body: { scopes: ['write'], owner: 'user:alice' } });
      assert.equal(key.status, 201, key.text);
      const mine = await s.request('POST', '/api/agents/tasks', {
        key: key.body.secret,
        body: { agent_id: 'LUMINA', task_type: 'plan_workflow', title: 'by alice' },
      });
      assert.equal(mine.status, 201, mine.text);
      assert.equal(mine.body.created_by_user_id, 'alice');
      const byAdmin = await call('POST', '/api/agents/tasks', {
        agent_id: 'LUMINA',
        task_type: 'plan_workflow',
        title: 'by a key of no user',
      });
      assert.equal(byAdmin.body.created_by_user_id, null);
    });
  });
}
