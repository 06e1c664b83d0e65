/**
 * Model gateway overhead: the latency Agentry adds in front of an OpenAI-compatible upstream,
 * against the Portkey gateway (`@portkey-ai/gateway`) in front of the same upstream, in one run.
 *
 * A fake upstream answers instantly ("0 ms") or like a real model ("300 ms to the first token, then
 * 30 tokens/s"). An open-loop load generator sends requests at a fixed rate (500 and 2,000 req/s),
 * timing each from its scheduled send time (no coordinated omission), non-streaming (whole answer)
 * and streaming (first body byte). Added latency = gateway percentile − direct percentile.
 * Agentry runs with auth, tenant policy, budgets, rate limits and usage recording on.
 * Upstream, Agentry and Portkey each run in their own process; RSS is read from /proc.
 *
 *   node --import tsx bench/gateway.ts [--quick] [--seconds 10] [--rates 500,2000]
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const self = fileURLToPath(import.meta.url);
type Profile = 'instant' | 'realistic';

// ---- child roles -------------------------------------------------------------------------------

/** The fake upstream: `/instant/v1/…` answers at once; `/realistic/v1/…` waits 300 ms, then 30 tokens/s. */
function serveUpstream(): void {
  const words = Array.from({ length: 10 }, (_, i) => `word${i} `);
  const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const realistic = req.url?.startsWith('/realistic');
      const stream = body.includes('"stream":true');
      const first = realistic ? 300 : 0;
      const gap = realistic ? 1000 / 30 : 0;
      if (!stream) {
        const answer = JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [
            { index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' },
          ],
          usage,
        });
        const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
        if (realistic) setTimeout(send, first + gap * words.length);
        else send();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i < words.length) {
          res.write(chunk(i === 0 ? { role: 'assistant', content: words[i] } : { content: words[i] }, null));
          i += 1;
          if (gap) setTimeout(next, gap);
          else next();
          return;
        }
        res.write(chunk({}, 'stop'));
        res.write(
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
      };
      if (first) setTimeout(next, first);
      else next();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
}

/** Agentry with the gateway fully on: API key auth, tenant policy, budgets, rate limits, usage rows. */
async function serveAgentry(upstream: string): Promise<void> {
  const { createApp } = await import('../src/app.ts');
  const { testConfig } = await import('../src/config/config.ts');
  const { tenantsFileSchema } = await import('../src/config/tenant-policy.ts');
  const store = process.env.DATABASE_URL
    ? { database_url: (await (await import('../test/helpers/server.ts')).freshDatabase()).url }
    : { data_dir: 'memory://' };
  const app = await createApp(
    testConfig({
      log_level: 'silent',
      store,
      redis_url: process.env.REDIS_URL,
      tasks: { workers: 0 },
      models: {
        providers: {
          instant: { type: 'openai', base_url: `${upstream}/instant/v1` },
          realistic: { type: 'openai', base_url: `${upstream}/realistic/v1` },
        },
        prices: { 'instant/m': { input: 1, output: 2 }, 'realistic/m': { input: 1, output: 2 } },
      },
    } as Parameters<typeof testConfig>[0]),
  );
  app.services.policies.set(
    tenantsFileSchema.parse({
      tenants: {
        default: {
          models: { allow: ['instant/*', 'realistic/*', 'mock/*'], deny: ['*/forbidden'] },
          budgets: { tokens_per_day: 1e12, cost_per_month: 1e9, agents: { bench: { tokens_per_day: 1e12 } } },
          rate_limits: {
            requests_per_minute: 1e9,
            tokens_per_minute: 1e12,
            per_key: { requests_per_minute: 1e9 },
          },
        },
      },
    }),
  );
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url, key: app.adminKey });
}

// ---- parent: load generation -----------------------------------------------------------------

interface Target {
  name: 'direct' | 'agentry' | 'portkey';
  origin: string;
  path: (p: Profile) => string;
  headers: (p: Profile) => Record<string, string>;
  model: (p: Profile) => string;
  pid?: number;
}

async function start(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; msg: { url: string; key?: string } }> {
  const child = fork(self, args, {
    execArgv: ['--import', 'tsx'],
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [msg] = (await once(child, 'message')) as [{ url: string; key?: string }];
  return { child, msg };
}

async function startPortkey(): Promise<{ child: ChildProcess; url: string }> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@portkey-ai/gateway/build/start-server.js');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [entry, `--port=${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return { child, url };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('portkey did not start');
}

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Open loop: request i is due at t0 + i/rate and timed from then, whatever the server's pace. */
async function load(target: Target, profile: Profile, stream: boolean, rate: number, seconds: number) {
  const pool = new Pool(target.origin, { connections: 2048, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = JSON.stringify({
    model: target.model(profile),
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Say ten words.' }],
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  });
  const headers = { 'content-type': 'application/json', ...target.headers(profile) };
  const warm = Math.max(50, Math.floor(rate / 4));
  const total = warm + Math.floor(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now() + 20;
  const one = async (i: number, due: number) => {
    try {
      const res = await pool.request({ method: 'POST', path: target.path(profile), headers, body });
      let first = -1;
      for await (const _ of res.body) {
        if (first < 0) first = performance.now();
        if (stream) break;
      }
      if (stream) await res.body.dump().catch(() => {});
      const done = stream ? first : performance.now();
      if (res.statusCode !== 200) errors += 1;
      else if (i >= warm) latencies.push(done - due);
    } catch {
      errors += 1;
    }
  };
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + (sent * 1000) / rate <= now) {
      pending.push(one(sent, t0 + (sent * 1000) / rate));
      sent += 1;
    }
    await new Promise((r) => setImmediate(r));
    if (performance.now() - now < 0.5) await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), n: latencies.length, errors };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rates: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
  const rates = (values.rates ?? (values.quick ? '500' : '500,2000')).split(',').map(Number);

  const up = await start(['--role', 'upstream']);
  const agentry = await start(['--role', 'agentry', '--upstream', up.msg.url]);
  const portkey = await startPortkey();
  const targets: Target[] = [
    {
      name: 'direct',
      origin: up.msg.url,
      path: (p) => `/${p}/v1/chat/completions`,
      headers: () => ({}),
      model: () => 'm',
    },
    {
      name: 'agentry',
      origin: agentry.msg.url,
      path: () => '/v1/chat/completions',
      headers: () => ({ authorization: `Bearer ${agentry.msg.key}`, 'x-agentry-agent': 'bench' }),
      model: (p) => `${p}/m`,
      pid: agentry.child.pid,
    },
    {
      name: 'portkey',
      origin: portkey.url,
      path: () => '/v1/chat/completions',
      headers: (p) => ({
        authorization: 'Bearer sk-bench',
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${up.msg.url}/${p}/v1`,
      }),
      model: () => 'm',
      pid: portkey.child.pid,
    },
  ];

  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const rate of rates) {
      for (const profile of ['instant', 'realistic'] as Profile[]) {
        for (const stream of [false, true]) {
          const result: Record<string, { p50: number; p99: number; n: number; errors: number }> = {};
          for (const t of targets) {
            process.stderr.write(`  ${rate} req/s ${profile} ${stream ? 'stream' : 'json'} → ${t.name}\n`);
            result[t.name] = await load(t, profile, stream, rate, seconds);
          }
          const d = result.direct!;
          const row: Record<string, string | number> = {
            rate,
            profile,
            mode: stream ? 'ttfb' : 'total',
            direct_p50: d.p50,
            direct_p99: d.p99,
          };
          for (const name of ['agentry', 'portkey']) {
            const r = result[name]!;
            row[`${name}_add_p50`] = r.p50 - d.p50;
            row[`${name}_add_p99`] = r.p99 - d.p99;
            row[`${name}_errors`] = r.errors;
          }
          row.ratio_p50 = (row.agentry_add_p50 as number) / Math.max(0.001, row.portkey_add_p50 as number);
          rows.push(row);
        }
      }
    }
  } finally {
    const rss = { agentry_rss_mb: rssMb(agentry.child.pid), portkey_rss_mb: rssMb(portkey.child.pid) };
    for (const c of [up.child, agentry.child, portkey.child]) c.kill();
    const f = (n: unknown) => (typeof n === 'number' ? n.toFixed(2).padStart(8) : String(n).padStart(9));
    console.log(
      '\nadded latency in ms (gateway percentile − direct percentile); ratio = agentry/portkey p50 added',
    );
    console.log(
      [
        'rate',
        'profile',
        'mode',
        'direct_p50',
        'agentry+p50',
        'agentry+p99',
        'portkey+p50',
        'portkey+p99',
        'ratio_p50',
        'errors(a/p)',
      ]
        .map((h) => h.padStart(11))
        .join(''),
    );
    for (const r of rows) {
      console.log(
        [
          r.rate,
          r.profile,
          r.mode,
          r.direct_p50,
          r.agentry_add_p50,
          r.agentry_add_p99,
          r.portkey_add_p50,
          r.portkey_add_p99,
          r.ratio_p50,
          `${r.agentry_errors}/${r.portkey_errors}`,
        ]
          .map((v) => f(v).padStart(11))
          .join(''),
      );
    }
    console.log(`RSS after the run: agentry ${rss.agentry_rss_mb} MB, portkey ${rss.portkey_rss_mb} MB`);
    console.log(JSON.stringify({ bench: 'gateway', seconds, rates, rows, ...rss }));
  }
}

const { values: roleArgs } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' } },
  strict: false,
});
if (roleArgs.role === 'upstream') serveUpstream();
else if (roleArgs.role === 'agentry') await serveAgentry(String(roleArgs.upstream));
else await main();
