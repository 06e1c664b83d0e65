import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { waitForStatus } from '../tasks/helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const deploy = (p: string) => path.join(root, 'deploy', p);

/** The files people read metric names from: the docs, the README, the dashboard and the alert rules. */
function documents(): string[] {
  const under = (dir: string): string[] =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? under(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
  return ['README.md', ...under('docs'), ...under('deploy')].filter((f) => /\.(md|json|ya?ml)$/.test(f));
}

/** Names in those files that look like metrics and are something else (said where they are used). */
const notMetrics = new Set([
  'agentry_agent_budgets', // a bus topic (docs/architecture.md)
  'agentry_run_advance', // a prepared statement (docs/performance.md)
]);

function promtool(args: string[], input?: string) {
  const r = spawnSync('promtool', args, { cwd: deploy('prometheus'), encoding: 'utf8', input });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('promtool is missing: install it with `apt-get install -y prometheus` (.ci/run does)');
  }
  return r;
}

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', 'alerts.yml']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('passes its promtool unit tests, one case for each alert', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml']);
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
    // A warm QuickJS pool, so that the sandbox's metrics have series for promtool to check.
    s = await startServer('pglite', {
      runtime: { workspaces_dir: dir },
      auth: { metrics_token: token },
      sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 1 } } },
    });
    // Budgets, so that agentry_budget_used_ratio has series: the tenant's and the agent's.
    s.app.services.policies.set({
      tenants: {
        default: { budgets: { tokens_per_day: 1_000_000, agents: { dash: { tokens_per_month: 10_000 } } } },
      },
    });
  });
  const scrape = async () => {
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, 'the metrics token reads /metrics');
    return res.text();
  };
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
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

    // Usage rows reach the store on the gateway's flush: the budget ratio follows them.
    const budgetSeries = 'agentry_budget_used_ratio{tenant="default",agent="dash",budget="tokens_per_month"}';
    const text = await eventually(
      async () => {
        const t = await scrape();
        return (sample(t, budgetSeries) ?? 0) > 0 ? t : undefined;
      },
      15_000,
      'the agent budget to show usage',
    );
    const tenantWide = sample(
      text,
      'agentry_budget_used_ratio{tenant="default",agent="",budget="tokens_per_day"}',
    );
    assert.ok(
      tenantWide !== undefined && tenantWide > 0 && tenantWide < sample(text, budgetSeries)!,
      String(tenantWide),
    );
    assert.equal(sample(text, 'agentry_task_wait_seconds_count{task_type="summarize"}'), 1);
    assert.equal(
      sample(text, 'agentry_task_duration_seconds_count{task_type="summarize",outcome="completed"}'),
      1,
    );
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

  it('passes promtool check metrics on a live /metrics', async () => {
    // The warm pool fills in the background after start: wait until its sandbox is counted.
    const created = /^agentry_sandbox_created_total\{type="quickjs"\} [1-9]/m;
    const text = await eventually(
      async () => {
        const t = await scrape();
        return created.test(t) ? t : undefined;
      },
      15_000,
      'the warm QuickJS sandbox to be counted',
    );
    const r = promtool(['check', 'metrics'], text);
    assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  });

  it('exports every metric the docs, the dashboard and the alert rules name, the queue depth at 0 when empty', async () => {
    // A task type declared and never used: its queue has series (at 0) all the same.
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'idle', task_types: [{ name: 'never_queued' }] },
    });
    assert.equal(agent.status, 201, agent.text);
    const text = await scrape();
    for (const status of ['pending', 'in_progress']) {
      for (const type of ['never_queued', 'default']) {
        const series = `agentry_tasks_queue_depth{status="${status}",task_type="${type}"}`;
        assert.equal(sample(text, series), 0, series);
      }
    }
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const labels = new Set([...text.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]!));
    const named = new Map<string, string>();
    for (const file of documents()) {
      const body = readFileSync(path.join(root, file), 'utf8');
      for (const m of body.matchAll(/\b((?:agentry|gen_ai|process|nodejs)_[a-z0-9_]*[a-z0-9])\b/g))
        named.set(m[1]!, file);
    }
    assert.ok(named.size >= 25, [...named.keys()].join(', '));
    const missing = [...named]
      .filter(([name]) => !notMetrics.has(name) && !labels.has(name))
      .filter(([name]) => !families.has(name) && !families.has(name.replace(/_(bucket|sum|count)$/, '')))
      .map(([name, file]) => `${name} (${file})`);
    assert.deepEqual(missing, [], `named, not exported: ${missing.join(', ')}`);
  });

  it('counts open event streams by route while they are open', async () => {
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'streamer', task_types: [{ name: 'later' }] },
    });
    // Not due for an hour: its event stream stays open, waiting.
    const task = await s.request('POST', '/v1/tasks', {
      body: { agent_id: agent.body.id, task_type: 'later', title: 'Later', delay_seconds: 3600 },
    });
    assert.equal(task.status, 202, task.text);
    const series = 'agentry_open_streams{route="/v1/tasks/:id/events"}';
    const before = sample(await scrape(), series) ?? 0;
    const controller = new AbortController();
    const res = await fetch(`${s.url}/v1/tasks/${task.body.id}/events`, {
      headers: { authorization: `Bearer ${s.adminKey}` },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read(); // ': connected'
    assert.equal(sample(await scrape(), series), before + 1);
    controller.abort();
    await reader.cancel().catch(() => {});
    await eventually(
      async () => (sample(await scrape(), series) === before ? true : undefined),
      30_000,
      'the stream to be counted out',
    );
  });

  it('refuses a wrong metrics token, and the token opens no other route', async () => {
    const wrong = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(wrong.status, 401);
    const other = await fetch(`${s.url}/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(other.status, 401);
  });
});
