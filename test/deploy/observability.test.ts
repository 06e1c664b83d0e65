import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.ts';
import { waitForStatus } from '../tasks/helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const deploy = (p: string) => path.join(root, 'deploy', p);

function promtool(...args: string[]) {
  const r = spawnSync('promtool', args, { cwd: deploy('prometheus'), encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('promtool is missing: install it with `apt-get install -y prometheus` (.ci/run does)');
  }
  return r;
}

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    const r = promtool('check', 'rules', 'alerts.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('passes its promtool unit tests, one case for each alert', () => {
    const r = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const rules = readFileSync(deploy('prometheus/alerts.yml'), 'utf8');
    const tests = readFileSync(deploy('prometheus/alerts.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    assert.ok(alerts.length >= 6);
    for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\\b`), `no unit test for ${a}`);
    for (const block of rules.split('- alert: ').slice(1))
      assert.match(block, /runbook: /, 'every alert has a runbook');
  });
});

describe('deploy/grafana/agentry.json', () => {
  let s: TestServer;
  let dir: string;
  const token = 'metrics-token-0123456789abcdef';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentry-dash-'));
    s = await startServer('pglite', { runtime: { workspaces_dir: dir }, auth: { metrics_token: token } });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('queries only metrics that /metrics exports after a small workload', async () => {
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'dash', tools: ['calculator', 'current_time'], task_types: [{ name: 'summarize' }] },
    });
    assert.equal(agent.status, 201, agent.text);
    const chat = (message: string) =>
      s.request('POST', `/v1/agents/${agent.body.id}/chat`, { body: { message, stream: false } });
    assert.equal((await chat('use the calculator tool on 2 + 2')).status, 200);
    assert.equal((await chat('use the current_time tool {"timezone": "Nowhere/Atlantis"}')).status, 200);
    const task = await s.request('POST', '/v1/tasks', {
      body: { agent_id: agent.body.id, task_type: 'summarize', title: 'Sum it' },
    });
    await waitForStatus(s, task.body.id, ['completed']);

    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, 'the metrics token reads /metrics');
    const text = await res.text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const dashboard = JSON.parse(readFileSync(deploy('grafana/agentry.json'), 'utf8'));
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const t of panel.targets) {
        // Label matchers and grouping labels are not metric names.
        const expr = String(t.expr)
          .replace(/\{[^}]*\}/g, '')
          .replace(/by \([^)]*\)/g, '');
        for (const m of expr.matchAll(/\b((?:agentry|gen_ai|process|nodejs)_[a-z0-9_]+)/g)) {
          queried.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
        }
      }
    }
    assert.ok(queried.size >= 15, [...queried].join(', '));
    const missing = [...queried].filter((q) => !families.has(q));
    assert.deepEqual(missing, [], `queried by the dashboard, not exported: ${missing.join(', ')}`);
    // The workload's samples are there, not only the families.
    assert.match(text, /gen_ai_client_operation_duration_seconds_count\{[^}]*outcome="ok"/);
    assert.match(text, /agentry_tool_call_errors_total\{tool="current_time"\} 1/);
    assert.match(text, /agentry_run_duration_seconds_count\{agent="dash",outcome="completed"\} [3-9]/);
    assert.match(text, /^process_resident_memory_bytes /m);
  });

  it('refuses a wrong metrics token, and the token opens no other route', async () => {
    const wrong = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(wrong.status, 401);
    const other = await fetch(`${s.url}/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(other.status, 401);
  });
});
