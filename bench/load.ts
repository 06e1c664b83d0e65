/**
 * Mixed load at stated rates (chat turns, task submissions, knowledge searches, and SomaAgent01's
 * delegations when asked) on one `agentry serve` process, then on 2 API + 2 worker processes
 * (PostgreSQL, Redis): p50/p95/p99, throughput, errors, tasks finished, and fleet / single.
 * With a target URL and an API key it loads that running deployment instead, as SomaAgent01's k6
 * script did with `GATEWAY_URL`: bounded by `--duration` and by `--max-requests` per kind.
 *
 *   npm run load -- [--duration 60] [--chat 20] [--tasks 20] [--search 40] [--delegation 0]
 *                   [--max-requests N] [--request-timeout 10] [--url URL --key agk_…]
 *   (DATABASE_URL, REDIS_URL; for a target: AGENTRY_URL or GATEWAY_URL, and AGENTRY_API_KEY)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freshDatabase } from '../test/helpers/server.ts';
import { quantile, r3 } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    chat: { type: 'string', default: '20' },
    tasks: { type: 'string', default: '20' },
    search: { type: 'string', default: '40' },
    /** SomaAgent01's `POST /v1/delegation/task` (the target must serve the soma family). */
    delegation: { type: 'string', default: '0' },
    /** Most requests of each kind (default: its rate × the duration). */
    'max-requests': { type: 'string' },
    /** Seconds a request may take before it counts as an error (autocannon's default, 10). */
    'request-timeout': { type: 'string', default: '10' },
    url: { type: 'string' },
    key: { type: 'string' },
  },
});
/** A whole number within bounds, or the run stops before sending anything. */
function bounded(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max} (got ${raw})`);
    process.exit(2);
  }
  return n;
}
const duration = bounded('duration', values.duration, 1, 3600);
const rates = {
  chat: bounded('chat', values.chat, 0, 10_000),
  tasks: bounded('tasks', values.tasks, 0, 10_000),
  search: bounded('search', values.search, 0, 10_000),
  delegation: bounded('delegation', values.delegation, 0, 10_000),
};
const maxRequests =
  values['max-requests'] === undefined
    ? undefined
    : bounded('max-requests', values['max-requests'], 1, 10_000_000);
const requestTimeout = bounded('request-timeout', values['request-timeout'], 1, 3600);
const target = values.url ?? process.env.AGENTRY_URL ?? process.env.GATEWAY_URL;
const targetKey = values.key ?? process.env.AGENTRY_API_KEY;
if (target && !targetKey) {
  console.error('a target URL needs an API key: --key agk_… or AGENTRY_API_KEY');
  process.exit(2);
}
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const work = mkdtempSync(path.join(tmpdir(), 'agentry-load-'));

/** Starts `agentry serve --role <role>`; resolves with its URL (and the admin key of a first start). */
function serve(role: string, dbUrl: string, procs: ChildProcess[]): Promise<{ url: string; key?: string }> {
  const bin = fileURLToPath(new URL('../bin/agentry.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--role', role], {
    cwd: work,
    env: {
      ...process.env,
      DATABASE_URL: dbUrl,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      AGENTRY_LOG_LEVEL: 'warn',
      AGENTRY_SEED_OPS_TEAM: 'false',
      AGENTRY_CREDENTIALS_FILE: path.join(work, `credentials-${procs.length}.json`),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const url = /agentry listening on (\S+)/.exec(err)?.[1];
      if (url) resolve({ url, key: /(agk_[A-Za-z0-9]+_[A-Za-z0-9_-]+)/.exec(err)?.[1] });
    });
    child.on('exit', (code) => reject(new Error(`serve --role ${role} exited ${code}: ${err}`)));
  });
}

/** One shape under load: the servers of a fresh database, then the mix on its API processes. */
async function measure(shape: string, roles: string[]) {
  const db = await freshDatabase(databaseUrl);
  const procs: ChildProcess[] = [];
  try {
    const first = await serve(roles[0]!, db.url, procs);
    const rest = await Promise.all(roles.slice(1).map((r) => serve(r, db.url, procs)));
    const apis = [first, ...rest].filter((_, i) => roles[i] !== 'worker').map((p) => p.url);
    return await mix(shape, apis, first.key!);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : 0)));
    await db.drop();
  }
}

/** The mix on the given API URLs, each kind's rate split evenly over them; its own agent and knowledge base. */
async function mix(shape: string, apis: string[], key: string) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${apis[0]}${p}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string };
  };
  // Named for this run: a deployment may keep the agents of earlier ones (names are unique).
  const run = `load-${Date.now().toString(36)}`;
  const agent = await post('/v1/agents', { name: run, model: 'mock/default' });
  const kb = await post('/v1/knowledge-bases', { name: `${run}-kb` });
  for (let i = 0; i < 20; i++) {
    const content = `# Note ${i}\n\nThe alarm panel ${i} arms at night; sensor ${i * 7} reports doors and windows.`;
    await post(`/v1/knowledge-bases/${kb.id}/documents`, { source: `n${i}.md`, content });
  }
  const kinds = [
    { name: 'chat', path: `/v1/agents/${agent.id}/chat`, body: '{"message":"what is 2+2","stream":false}' },
    {
      name: 'tasks',
      path: '/v1/tasks',
      body: `{"agent_id":"${agent.id}","task_type":"default","title":"sum"}`,
    },
    { name: 'search', path: `/v1/knowledge-bases/${kb.id}/search`, body: '{"query":"alarm sensor doors"}' },
    {
      name: 'delegation',
      path: '/v1/delegation/task',
      body: `{"agent":"${agent.id}","payload":{"goal":"sum"}}`,
    },
  ] as const;
  const active = kinds.filter((k) => rates[k.name] > 0);
  const times = Object.fromEntries(kinds.map((k) => [k.name, [] as number[]]));
  const bad = Object.fromEntries(kinds.map((k) => [k.name, 0]));
  /** What the errors were, by status or error code: a report of errors says which. */
  const why = Object.fromEntries(kinds.map((k) => [k.name, {} as Record<string, number>]));
  const failed = (kind: string, reason: string) => {
    bad[kind]!++;
    why[kind]![reason] = (why[kind]![reason] ?? 0) + 1;
  };
  process.stderr.write(`${shape}: ${duration}s of mixed load on ${apis.join(', ')}…\n`);
  const hit = (k: (typeof kinds)[number], url: string) =>
    new Promise<void>((resolve, reject) => {
      const rate = rates[k.name] / apis.length;
      // Each kind stops at its count or at the duration, whichever comes first.
      const most = Math.max(1, Math.floor((maxRequests ?? rates[k.name] * duration) / apis.length));
      const opts = { url: `${url}${k.path}`, method: 'POST' as const, headers, body: k.body, duration };
      const done = (err: unknown) => (err ? reject(err) : resolve());
      const connections = Math.min(8, most);
      const run = autocannon(
        { ...opts, connections, overallRate: rate, maxOverallRequests: most, timeout: requestTimeout },
        done,
      );
      run.on('response', (_c, status, _b, ms) =>
        status >= 400 ? failed(k.name, String(status)) : times[k.name]!.push(ms),
      );
      run.on('reqError', (err: Error & { code?: string }) => failed(k.name, err.code ?? err.message));
    });
  const loadStart = Date.now();
  await Promise.all(active.flatMap((k) => apis.map((url) => hit(k, url))));
  const loadSeconds = r3((Date.now() - loadStart) / 1000);
  // The tasks submitted, run by the workers: how many of this agent's finished within the load and
  // a little after (30 s, or the duration if shorter).
  let counts: Record<string, number> = {};
  for (const until = Date.now() + Math.min(30, duration) * 1000; Date.now() < until; await sleep(500)) {
    const byAgent = (await (await fetch(`${apis[0]}/v1/tasks/status`, { headers })).json()) as {
      by_agent: Array<{ agent_id: string; status: string; count: number }>;
    };
    counts = Object.fromEntries(
      byAgent.by_agent.filter((r) => r.agent_id === agent.id).map((r) => [r.status, r.count]),
    );
    if (!counts.pending && !counts.in_progress) break;
  }
  return active.map((k) => {
    const t = times[k.name]!;
    const n = t.length + bad[k.name]!;
    return {
      shape,
      kind: k.name,
      rate: rates[k.name],
      requests: n,
      /** How long the load ran: the duration, or less when every kind reached its count. */
      load_s: loadSeconds,
      rps: r3(t.length / duration),
      p50: r3(quantile(t, 0.5)),
      p95: r3(quantile(t, 0.95)),
      p99: r3(quantile(t, 0.99)),
      error_rate: r3(n ? bad[k.name]! / n : 0),
      errors: why[k.name]!,
      ...(k.name !== 'chat' &&
        k.name !== 'search' && { tasks_done: counts.completed ?? 0, tasks_failed: counts.failed ?? 0 }),
    };
  });
}

if (target) {
  const rows = await mix('target', [target.replace(/\/+$/, '')], targetKey!);
  rmSync(work, { recursive: true, force: true });
  console.table(rows);
  console.log(
    JSON.stringify({ bench: 'load', target, duration, rates, max_requests: maxRequests ?? null, rows }),
  );
  process.exit(0);
}

const single = await measure('single', ['all']);
const fleet = await measure('fleet', ['api', 'api', 'worker', 'worker']);
rmSync(work, { recursive: true, force: true });
console.table([...single, ...fleet]);
const ratios = single.map((s, i) => {
  const ratio = (m: 'rps' | 'p50' | 'p95' | 'p99') => r3(fleet[i]![m] / s[m]);
  return { kind: s.kind, rps: ratio('rps'), p50: ratio('p50'), p95: ratio('p95'), p99: ratio('p99') };
});
console.log('fleet / single (2 api + 2 workers over 1 process):');
console.table(ratios);
console.log(JSON.stringify({ bench: 'load', duration, rates, rows: [...single, ...fleet], ratios }));
