import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Spawned, startServe, tempDir } from '../cli/run-cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { freshDatabase } from '../helpers/server.ts';
import { type SseRead, sse } from '../runtime/helpers.ts';

const { DATABASE_URL, REDIS_URL } = process.env;

/** Rate windows are calendar minutes: start a burst early in one, so it cannot straddle two. */
async function awayFromMinuteEdge() {
  const s = new Date().getUTCSeconds();
  if (s >= 50) await new Promise((r) => setTimeout(r, (61 - s) * 1000));
}

/**
 * A fleet of real processes on one PostgreSQL and one Redis: two API processes (A, B) and two
 * workers. Whatever is started through one API process is seen, approved and cancelled through
 * the other; limits hold across them; schedules fire once per tick; pool stats add up.
 */
describe('a fleet: 2 api + 2 worker processes', {
  skip: !(DATABASE_URL && REDIS_URL) && 'needs DATABASE_URL and REDIS_URL',
  timeout: 900_000,
}, () => {
  const tmp = tempDir('agentry-fleet-');
  let drop = async () => {};
  const procs: Spawned[] = [];
  let a: Spawned & { url: string };
  let b: Spawned & { url: string };
  let workers: Array<Spawned & { url: string }>;
  let key = '';

  const call = async (base: string, method: string, p: string, body?: unknown, k = key) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${k}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };

  before(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    writeFileSync(
      path.join(tmp.dir, 'agentry.yaml'),
      [
        'server: { shutdown_grace_seconds: 60 }',
        'tasks: { poll_seconds: 1 }',
        'ops_team: { seed: false }',
        `runtime: { workspaces_dir: ${JSON.stringify(path.join(tmp.dir, 'ws'))} }`,
        'sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 1 }, agent: { size: 0 } } }',
        'fleet: { stats_seconds: 1 }',
        // mock/slow answers only after ten minutes: runs and tasks that stay in flight.
        'models: { mock: { scripts: { slow: [{ delay_ms: 600000 }, { delay_ms: 600000 }] } } }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(tmp.dir, 'tenants.yaml'),
      'tenants:\n' +
        '  limited: { rate_limits: { per_key: { requests_per_minute: 4 } } }\n' +
        '  metered: { budgets: { tokens_per_day: 60 } }\n',
    );
    const env = { DATABASE_URL: db.url, REDIS_URL: REDIS_URL! };
    const start = async (role: string) => {
      const p = await startServe(['--role', role], { cwd: tmp.dir, env });
      procs.push(p);
      return p;
    };
    // A first: it creates the default tenant and prints its admin key.
    a = await start('api');
    key = /(agk_[A-Za-z0-9]+_[A-Za-z0-9_-]+)/.exec(a.stderr())![1]!;
    [b, ...workers] = await Promise.all([start('api'), start('worker'), start('worker')]);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await drop();
    tmp.remove();
  });

  it('workers serve only the health endpoints; API processes claim no task', async () => {
    for (const w of workers) {
      assert.equal((await fetch(`${w.url}/health/ready`)).status, 200);
      assert.equal((await call(w.url, 'GET', '/v1/agents')).status, 404);
    }
    const health = await call(a.url, 'GET', '/health');
    assert.deepEqual(
      {
        workers: health.body.components.queue.detail.workers,
        role: health.body.components.queue.detail.role,
        // The two worker processes' heartbeat rows, seen from an API process.
        live_workers: health.body.components.queue.detail.live_workers,
        status: health.body.components.queue.status,
      },
      { workers: 0, role: 'api', live_workers: 2, status: 'ok' },
    );
    // A task in flight is leased by one of the worker processes.
    const agent = await call(a.url, 'POST', '/v1/agents', { name: 'slowpoke', model: 'mock/slow' });
    const task = await call(a.url, 'POST', '/v1/tasks', {
      agent_id: agent.body.id,
      task_type: 'default',
      title: 'take your time',
    });
    assert.equal(task.status, 202, task.text);
    const leased = await eventually(async () => {
      const t = await call(b.url, 'GET', `/v1/tasks/${task.body.id}`);
      return t.body.status === 'in_progress' ? t.body : undefined;
    });
    const pid = Number(leased.lease_owner.split(':')[1]);
    assert.ok(
      workers.some((w) => w.child.pid === pid),
      `leased by ${leased.lease_owner}, not a worker`,
    );
    assert.equal((await call(b.url, 'POST', `/v1/tasks/${task.body.id}/cancel`)).status, 200);
    await eventually(async () => {
      const t = await call(a.url, 'GET', `/v1/tasks/${task.body.id}`);
      return t.body.status === 'cancelled' ? true : undefined;
    });
  });

  it('a chat started on A waits for approval, is followed and approved on B', async () => {
    const agent = await call(a.url, 'POST', '/v1/agents', {
      name: 'careful',
      mode: 'COLLABORATIVE',
      tools: ['write_file'],
    });
    const started = await sse(`${a.url}/v1/agents/${agent.body.id}/chat`, {
      key,
      body: { message: 'use the write_file tool: {"path": "notes.txt", "content": "fleet"}' },
      stop: (e) => e.event === 'approval_required',
    });
    const runId = started.events[0]!.data.run_id as string;
    assert.equal(started.events.at(-1)!.event, 'approval_required');

    const following: Promise<SseRead> = sse(`${b.url}/v1/runs/${runId}/stream`, {
      key,
      stop: (e) => e.event === 'session_end',
    });
    const approved = await call(b.url, 'POST', `/v1/runs/${runId}/approve`, {});
    assert.equal(approved.status, 200, approved.text);
    const followed = await following;
    const types = followed.events.map((e) => e.event);
    assert.ok(types.includes('tool_result'), types.join(' '));
    assert.equal(types.at(-1), 'session_end');
    const run = await call(a.url, 'GET', `/v1/runs/${runId}`);
    assert.equal(run.body.status, 'completed');
  });

  it('a run executing on A is cancelled through B, and B follows it to its end', async () => {
    const agent = await call(a.url, 'POST', '/v1/agents', { name: 'dawdler', model: 'mock/slow' });
    const started = await sse(`${a.url}/v1/agents/${agent.body.id}/chat`, {
      key,
      body: { message: 'take all day', on_disconnect: 'continue' },
      stop: (e) => e.event === 'session_start',
    });
    const runId = started.events[0]!.data.run_id as string;
    const following = sse(`${b.url}/v1/runs/${runId}/stream`, {
      key,
      stop: (e) => e.event === 'session_end',
    });
    const cancelled = await call(b.url, 'POST', `/v1/runs/${runId}/cancel`, {});
    assert.equal(cancelled.status, 200, cancelled.text);
    const end = (await following).events.at(-1)!;
    assert.equal(end.event, 'session_end');
    assert.equal((await call(a.url, 'GET', `/v1/runs/${runId}`)).body.status, 'cancelled');
  });

  it("a key's rate limit and a tenant's budget hold across both API processes", async () => {
    const ask = { model: 'mock/default', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] };
    const tenantKey = async (name: string) => {
      const made = await call(a.url, 'POST', '/v1/tenants', { name });
      assert.equal(made.status, 201, made.text);
      return made.body.admin_key.secret as string;
    };
    const limited = await tenantKey('limited');
    const metered = await tenantKey('metered');
    await awayFromMinuteEdge();
    const codes = [];
    for (let i = 0; i < 10; i++)
      codes.push((await call(i % 2 ? b.url : a.url, 'POST', '/v1/chat/completions', ask, limited)).status);
    // Per-process counters would serve 4 on each, 8 in all.
    assert.equal(codes.filter((c) => c === 200).length, 4, codes.join(' '));
    assert.equal(codes.filter((c) => c === 429).length, 6, codes.join(' '));

    // The tenant `metered` may use 60 tokens a day: concurrent calls through A and B never pass it.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(i % 2 ? b.url : a.url, 'POST', '/v1/chat/completions', ask, metered),
      ),
    );
    const served = results.filter((r) => r.status === 200);
    const used = served.reduce((n, r) => n + r.body.usage.total_tokens, 0);
    assert.ok(served.length >= 1, results.map((r) => r.status).join(' '));
    assert.ok(used <= 60, `${used} tokens served, the budget holds 60`);
    assert.ok(results.some((r) => r.status === 429 && /tenant metered budget tokens_per_day/.test(r.text)));
  });

  it('a schedule fires once per tick across two workers', async () => {
    const agent = await call(a.url, 'POST', '/v1/agents', { name: 'ticker' });
    const made = await call(a.url, 'POST', '/v1/schedules', {
      name: 'every-second',
      interval_seconds: 1,
      agent_id: agent.body.id,
      task_type: 'default',
      title: 'tick',
    });
    assert.equal(made.status, 201, made.text);
    const tasks = await eventually(
      async () => {
        const page = await call(b.url, 'GET', `/v1/tasks?agent_id=${agent.body.id}&limit=100`);
        return page.body.total >= 4 ? page.body.data : undefined;
      },
      60_000,
      'four ticks',
    );
    assert.equal((await call(a.url, 'POST', `/v1/schedules/${made.body.id}/pause`, {})).status, 200);
    const ticks = tasks.map((t: { idempotency_key: string }) => t.idempotency_key);
    assert.equal(new Set(ticks).size, ticks.length, `a tick made two tasks: ${ticks.join(' ')}`);
    for (const t of ticks) assert.match(t, new RegExp(`^schedule:${made.body.id}:`));
    // Each task is one tick of the schedule's grid (whole intervals from the first): a worker that
    // fired off the grid, or fired a tick another had already moved past, would show here.
    const at = ticks
      .map((t: string) => Date.parse(t.slice(`schedule:${made.body.id}:`.length)))
      .sort((x: number, y: number) => x - y);
    for (const t of at) assert.equal((t - at[0]!) % 1000, 0, `off the 1 s grid: ${ticks.join(' ')}`);
    assert.equal(new Set(at).size, at.length, `two tasks for one tick: ${ticks.join(' ')}`);
    // Both workers were up throughout: "once" held across two schedulers, not one.
    for (const w of workers) assert.equal((await fetch(`${w.url}/health/live`)).status, 200);
  });

  it('warm pool stats are summed over the fleet', async () => {
    const stats = await eventually(
      async () => {
        const r = await call(b.url, 'GET', '/v1/pools/quickjs/stats');
        return r.body.fleet?.processes === 4 && r.body.fleet.ready === 4 ? r.body : undefined;
      },
      60_000,
      'four processes reporting one ready quickjs sandbox each',
    );
    assert.equal(stats.fleet.source, 'redis');
    assert.equal(stats.ready, 1, "the process's own pool is reported beside the fleet's");
  });
});
