/**
 * Mixed load at stated rates (chat turns, task submissions, knowledge searches) on one `agentry serve`
 * process, then on 2 API + 2 worker processes (PostgreSQL, Redis): p50/p95/p99, throughput, errors,
 * tasks finished, and fleet / single.
 *
 *   npm run load -- [--duration 60] [--chat 20] [--tasks 20] [--search 40]      (DATABASE_URL, REDIS_URL)
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
  },
});
const duration = Number(values.duration);
const rates = { chat: Number(values.chat), tasks: Number(values.tasks), search: Number(values.search) };
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

/** One shape under load: the rate of each kind split evenly over its API processes. */
async function measure(shape: string, roles: string[]) {
  const db = await freshDatabase(databaseUrl);
  const procs: ChildProcess[] = [];
  try {
    const first = await serve(roles[0]!, db.url, procs);
    const rest = await Promise.all(roles.slice(1).map((r) => serve(r, db.url, procs)));
    const apis = [first, ...rest].filter((_, i) => roles[i] !== 'worker').map((p) => p.url);
    const headers = { authorization: `Bearer ${first.key}`, 'content-type': 'application/json' };
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${apis[0]}${p}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string };
    };
    const agent = await post('/v1/agents', { name: 'load', model: 'mock/default' });
    const kb = await post('/v1/knowledge-bases', { name: 'load-kb' });
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
    ] as const;
    const times = Object.fromEntries(kinds.map((k) => [k.name, [] as number[]]));
    const bad = Object.fromEntries(kinds.map((k) => [k.name, 0]));
    process.stderr.write(`${shape}: ${duration}s of mixed load…\n`);
    const hit = (k: (typeof kinds)[number], url: string) =>
      new Promise<void>((resolve, reject) => {
        const opts = { url: `${url}${k.path}`, method: 'POST' as const, headers, body: k.body, duration };
        const done = (err: unknown) => (err ? reject(err) : resolve());
        const run = autocannon({ ...opts, connections: 8, overallRate: rates[k.name] / apis.length }, done);
        run.on('response', (_c, status, _b, ms) =>
          status >= 400 ? bad[k.name]!++ : times[k.name]!.push(ms),
        );
        run.on('reqError', () => bad[k.name]!++);
      });
    await Promise.all(kinds.flatMap((k) => apis.map((url) => hit(k, url))));
    // The tasks submitted, run by the workers: how many finished within the load and 30 s after.
    let counts: Record<string, number> = {};
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(500)) {
      ({ counts } = (await (await fetch(`${apis[0]}/v1/tasks/status`, { headers })).json()) as {
        counts: typeof counts;
      });
      if (counts.pending === 0 && counts.in_progress === 0) break;
    }
    return kinds.map((k) => {
      const t = times[k.name]!;
      const n = t.length + bad[k.name]!;
      return {
        shape,
        kind: k.name,
        rate: rates[k.name],
        rps: r3(t.length / duration),
        p50: r3(quantile(t, 0.5)),
        p95: r3(quantile(t, 0.95)),
        p99: r3(quantile(t, 0.99)),
        error_rate: r3(n ? bad[k.name]! / n : 0),
        ...(k.name === 'tasks' && { tasks_done: counts.completed, tasks_failed: counts.failed }),
      };
    });
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : 0)));
    await db.drop();
  }
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
