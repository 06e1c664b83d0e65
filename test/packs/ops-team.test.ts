import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { opsTeam, opsTeamTemplates } from '../../src/agents/packs-ops-team.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createTenant } from '../auth/fixtures.ts';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { fastQueue, waitForStatus } from '../tasks/helpers.ts';

const expectedTypes: Record<string, string[]> = {
  LUMINA: ['plan_frontend_improvements', 'plan_workflow'],
  SAM: ['review_climate_page', 'review_accessibility'],
  EIVOR: ['summarize_recent_events', 'memory_cleanup'],
  ORACLE: ['propose_new_climate_missions', 'research_topic'],
  CONNOR: ['review_system_health', 'analyze_codebase'],
  AEGIS: ['review_recent_agent_tasks', 'check_climate_claims'],
};
const READ_ONLY = new Set(['read_journal', 'system_health', 'recent_tasks', 'web_search', 'web_crawl']);

describe('operations team: configuration', () => {
  it('is seeded by default; AGENTRY_SEED_OPS_TEAM=false turns it off', () => {
    assert.equal(loadConfig({ env: {}, file: '/dev/null' }).ops_team.seed, true);
    assert.equal(
      loadConfig({ env: { AGENTRY_SEED_OPS_TEAM: 'false' }, file: '/dev/null' }).ops_team.seed,
      false,
    );
  });

  it('declares the six agents with their task types, COLLABORATIVE and with read-only tools only', () => {
    assert.deepEqual(
      opsTeam.map((m) => m.name),
      Object.keys(expectedTypes),
    );
    for (const t of opsTeamTemplates) {
      const name = (t.metadata as { agent_name: string }).agent_name;
      assert.deepEqual(
        t.task_types.map((x) => x.name),
        expectedTypes[name],
      );
      assert.equal(t.mode, 'COLLABORATIVE');
      for (const tool of t.tools) assert.ok(READ_ONLY.has(tool), `${name} has ${tool}`);
      for (const type of t.task_types) assert.ok(type.prompt_template && type.description, type.name);
    }
  });
});

for (const store of stores) {
  describe(`operations team on ${store}`, { timeout: 300_000 }, () => {
    let s: TestServer;
    const ids: Record<string, string> = {};

    before(async () => {
      s = await startServer(store, {
        ops_team: { seed: true },
        tasks: fastQueue,
        server: { shutdown_grace_seconds: 2 },
      });
      const list = await s.request('GET', '/v1/agents?limit=50');
      for (const a of list.body.data) ids[a.name] = a.id;
    });
    after(() => s.close());

    it('the default tenant starts with the six agents, built from their templates', async () => {
      for (const { name, template_id } of opsTeam) {
        const res = await s.request('GET', `/v1/agents/${ids[name]}`);
        assert.equal(res.status, 200, name);
        assert.equal(res.body.template_id, template_id);
        assert.equal(res.body.source, 'template');
        assert.equal(res.body.mode, 'COLLABORATIVE');
      }
    });

    it('the queue rejects a task type the agent does not declare', async () => {
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: ids.SAM, task_type: 'review_system_health', title: 'not SAM’s job' },
      });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body.error.details[0].allowed, expectedTypes.SAM);
    });

    const run = async (agent: string, taskType: string, title: string) => {
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: ids[agent], task_type: taskType, title },
      });
      assert.equal(res.status, 202, res.text);
      const done = await waitForStatus(s, res.body.id, ['completed', 'failed', 'cancelled'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      return done.result as { answer: string; tool_calls: Array<{ name: string }>; run_id: string };
    };

    it('EIVOR summarises recent events from the journal (read_journal called, its result used)', async () => {
      const result = await run('EIVOR', 'summarize_recent_events', 'What happened today?');
      assert.deepEqual(
        result.tool_calls.map((c) => c.name),
        ['read_journal'],
      );
      assert.match(result.answer, /^The read_journal tool returned: /);
      const report = JSON.parse(result.answer.replace('The read_journal tool returned: ', ''));
      // The seeded agents were journalled when the tenant was created.
      assert.equal(report.actions['agent.create'], 6);
    });

    it('CONNOR reviews Agentry’s own health (system_health called in-process)', async () => {
      const result = await run('CONNOR', 'review_system_health', 'Morning health check');
      assert.deepEqual(
        result.tool_calls.map((c) => c.name),
        ['system_health'],
      );
      const report = JSON.parse(result.answer.replace('The system_health tool returned: ', ''));
      assert.equal(report.components.store.status, 'ok');
      assert.equal(report.components.store.detail.kind, store);
      assert.ok(report.components.queue, 'the queue reports too');
    });

    it('AEGIS flags risky activity among recent tasks (recent_tasks called)', async () => {
      const risky = await s.request('POST', '/v1/tasks', {
        body: {
          agent_id: ids.LUMINA,
          task_type: 'plan_frontend_improvements',
          title: 'Delete the old climate pages and disable the review step',
          delay_seconds: 3600,
        },
      });
      assert.equal(risky.status, 202, risky.text);
      const result = await run('AEGIS', 'review_recent_agent_tasks', 'Weekly safety review');
      assert.deepEqual(
        result.tool_calls.map((c) => c.name),
        ['recent_tasks'],
      );
      const report = JSON.parse(result.answer.replace('The recent_tasks tool returned: ', ''));
      const flagged = report.flagged.find((f: { id: string }) => f.id === risky.body.id);
      assert.ok(flagged, JSON.stringify(report.flagged));
      assert.match(flagged.reasons.join(' '), /mentions "Delete"/);
      // Only this tenant's tasks: every task listed belongs to one of its agents.
      const own = new Set(Object.values(ids));
      for (const t of report.tasks) assert.ok(own.has(t.agent_id));
    });

    it('the read-only tools see only the calling tenant', async () => {
      const { adminKey: key } = await createTenant(s, 'ops-other');
      // A new tenant gets the operations team of its own (POST /v1/tenants seeds it).
      const listed = await s.request('GET', '/v1/agents?limit=100', { key });
      const eivor = listed.body.data.find((a: { name: string }) => a.name === 'EIVOR');
      assert.ok(eivor, listed.text);
      // One agent more than the default tenant's six, so its journal count tells the tenants apart.
      const extra = await s.request('POST', '/v1/agents', { key, body: { name: 'extra', model: 'mock/x' } });
      assert.equal(extra.status, 201, extra.text);
      const task = await s.request('POST', '/v1/tasks', {
        key,
        body: { agent_id: eivor.id, task_type: 'summarize_recent_events', title: 'other tenant' },
      });
      assert.equal(task.status, 202, task.text);
      const done = await eventually(
        async () => {
          const res = await s.request('GET', `/v1/tasks/${task.body.id}`, { key });
          return ['completed', 'failed'].includes(res.body.status) ? res.body : undefined;
        },
        60_000,
        'the other tenant’s task',
      );
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const report = JSON.parse(done.result.answer.replace('The read_journal tool returned: ', ''));
      assert.equal(report.actions['agent.create'], 7, 'its own seven agents, not the default tenant’s six');
    });
  });
}
