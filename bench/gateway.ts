/**
 * Model gateway overhead: the latency Agentry adds in front of an OpenAI-compatible upstream,
 * against `floor` (a bare Node proxy: what one more Node process on the path costs this machine)
 * and the Portkey gateway (`@portkey-ai/gateway`), in one run.
 *
 * A fake upstream answers at once ("instant") or like a model ("realistic": 300 ms to the first
 * token, then 10 tokens at 30/s). An open-loop generator sends requests at a fixed rate and times
 * each from when it was due (no coordinated omission); a streamed request is timed to its first
 * chunk with content. Added latency = the gateway's percentile − the direct one, measured just
 * before it. Agentry runs with auth, policy, budgets, rate limits and usage on, with the node flags
 * of `npm start`. Each gateway runs in its own phase (its process alone next to the upstream),
 * after an unmeasured warm-up per profile and mode. CPU ms per request of the gateway's process is
 * the figure a shared machine's noise moves least.
 *
 *   node --import tsx bench/gateway.ts [--quick] [--seconds 10] [--rates 500,2000] [--trials 1]
 *     [--only floor,agentry,portkey] [--profiles instant,realistic] [--modes json,stream]
 *   DATABASE_URL / REDIS_URL put Agentry on PostgreSQL / Redis (as in production); PGlite otherwise.
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
import { cpuMs, quantile, r3, tsLoaderArgs } from './bench-app.ts';

type Profile = 'instant' | 'realistic';
interface Target {
  name: string;
  url: string;
  path: (p: Profile) => string;
  headers: (p: Profile) => Record<string, string>;
  model: (p: Profile) => string;
  pid?: number;
}

const listen = (server: ReturnType<typeof createServer>) => {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
};

/** The fake upstream: events rendered once, so its CPU per chunk stays small. */
function serveUpstream(): void {
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const words = Array.from({ length: 10 }, (_, i) => `word${i} `);
  const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
  const tokens = words.map((w, i) =>
    chunk(i === 0 ? { role: 'assistant', content: w } : { content: w }, null),
  );
  const last = `${chunk({}, 'stop')}data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage })}\n\ndata: [DONE]\n\n`;
  const whole = JSON.stringify({
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' }],
    usage,
  });
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const [first, gap] = req.url?.startsWith('/realistic') ? [300, 1000 / 30] : [0, 0];
      if (!body.includes('"stream":true')) {
        const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(whole);
        return first ? setTimeout(send, first + gap * words.length) : send();
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const next = (): void => {
        if (res.destroyed) return;
        if (i === tokens.length) return void res.end(last);
        res.write(tokens[i++]);
        if (gap && i < tokens.length) setTimeout(next, gap);
        else next();
      };
      if (first) setTimeout(next, first);
      else next();
    });
  });
  listen(server);
}

/** The floor: node:http in, an undici pool out, the body passed through; no auth, policy or parsing. */
function serveFloor(upstream: string): void {
  const pool = new Pool(upstream, { connections: 2048, keepAliveTimeout: 60_000 });
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', async () => {
      try {
        const up = await pool.request({
          method: 'POST',
          path: req.url ?? '/',
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(parts),
        });
        res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type']) });
        for await (const part of up.body) res.write(part);
        res.end();
      } catch (err) {
        res.writeHead(502).end(String(err));
      }
    });
  });
  listen(server);
}

/** Agentry with the gateway fully on: API key auth, tenant policy, budgets, rate limits, usage rows. */
async function serveAgentry(upstream: string): Promise<void> {
  const { benchApp, closeOnTerm } = await import('./bench-app.ts');
  const { tenantsFileSchema } = await import('../src/config/tenant-policy.ts');
  const { app, close } = await benchApp(process.env.DATABASE_URL ? 'postgres' : 'pglite', {
    redis_url: process.env.REDIS_URL,
    models: {
      providers: {
        instant: { type: 'openai', base_url: `${upstream}/instant/v1` },
        realistic: { type: 'openai', base_url: `${upstream}/realistic/v1` },
      },
      prices: { 'instant/m': { input: 1, output: 2 }, 'realistic/m': { input: 1, output: 2 } },
    },
  });
  const huge = { requests_per_minute: 1e9 };
  app.services.policies.set(
    tenantsFileSchema.parse({
      tenants: {
        default: {
          models: { allow: ['instant/*', 'realistic/*'], deny: ['*/forbidden'] },
          budgets: { tokens_per_day: 1e12, cost_per_month: 1e9, agents: { bench: { tokens_per_day: 1e12 } } },
          rate_limits: { ...huge, tokens_per_minute: 1e12, per_key: huge },
        },
      },
    }),
  );
  closeOnTerm(close);
  process.send?.({ url: await app.http.listen({ host: '127.0.0.1', port: 0 }), key: app.adminKey });
}

async function start(
  role: string[],
  execArgv: string[] = [],
): Promise<{ child: ChildProcess; url: string; key?: string }> {
  const child = fork(fileURLToPath(import.meta.url), role, {
    execArgv: [...tsLoaderArgs, ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [msg] = (await once(child, 'message')) as [{ url: string; key?: string }];
  return { child, ...msg };
}

/** Portkey from node_modules (or PORTKEY_DIR). 1.15.2 on Node 20 answers every streamed request 500. */
async function startPortkey(): Promise<{ child: ChildProcess; url: string }> {
  const require = createRequire(process.env.PORTKEY_DIR ? `${process.env.PORTKEY_DIR}/` : import.meta.url);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [require.resolve('@portkey-ai/gateway/build/start-server.js'), `--port=${port}`],
    {
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('portkey did not start');
}

/** One request; resolves at the first chunk with content (streaming) or at the end. */
async function send(pool: Pool, t: Target, profile: Profile, body: string, stream: boolean): Promise<number> {
  const res = await pool.request({
    method: 'POST',
    path: t.path(profile),
    headers: { 'content-type': 'application/json', ...t.headers(profile) },
    body,
  });
  let text = '';
  let at = -1;
  for await (const part of res.body) {
    if (stream && at < 0) {
      text += part;
      if (/"delta":\{[^}]*"content":"[^"]/.test(text)) at = performance.now();
      else text = text.slice(text.lastIndexOf('\n') + 1);
    }
  }
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return stream ? at : performance.now();
}

/** Open loop at `rate`/s for `seconds`: request i is due at t0 + i/rate and timed from then. */
async function load(pool: Pool, t: Target, profile: Profile, stream: boolean, rate: number, seconds: number) {
  const body = JSON.stringify({
    model: t.model(profile),
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Say ten words.' }],
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  });
  const total = Math.floor(rate * seconds);
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const cpu0 = cpuMs(t.pid);
  const t0 = performance.now() + 20;
  for (let sent = 0; sent < total; ) {
    const now = performance.now();
    for (; sent < total && t0 + (sent * 1000) / rate <= now; sent++) {
      const due = t0 + (sent * 1000) / rate;
      pending.push(
        send(pool, t, profile, body, stream).then(
          (at) => void latencies.push(at - due),
          () => void errors++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    cpu: (cpuMs(t.pid) - cpu0) / total,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rates: { type: 'string' },
      trials: { type: 'string', default: '1' },
      only: { type: 'string', default: 'floor,agentry,portkey' },
      profiles: { type: 'string', default: 'instant,realistic' },
      modes: { type: 'string', default: 'json,stream' },
    },
  });
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
  const rates = (values.rates ?? (values.quick ? '500' : '500,2000')).split(',').map(Number);
  const trials = Math.max(1, Number(values.trials));
  const profiles = values.profiles.split(',') as Profile[];
  const modes = values.modes.split(',').map((m) => m === 'stream');
  const gateways = ['floor', 'agentry', 'portkey'].filter((g) => values.only.split(',').includes(g));
  const startFlags = (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      scripts: { start: string };
    }
  ).scripts.start
    .split(' ')
    .filter((w) => w.startsWith('--'));

  const up = await start(['--role', 'upstream']);
  const openAi = { path: (p: Profile) => `/${p}/v1/chat/completions`, headers: () => ({}), model: () => 'm' };
  const direct: Target = { name: 'direct', url: up.url, ...openAi };
  const launch: Record<string, () => Promise<{ child: ChildProcess; target: Target }>> = {
    floor: async () => {
      const s = await start(['--role', 'floor', '--upstream', up.url]);
      return { child: s.child, target: { name: 'floor', url: s.url, ...openAi, pid: s.child.pid } };
    },
    agentry: async () => {
      const s = await start(['--role', 'agentry', '--upstream', up.url], startFlags);
      const headers = () => ({ authorization: `Bearer ${s.key}`, 'x-agentry-agent': 'bench' });
      const target = {
        name: 'agentry',
        url: s.url,
        path: () => '/v1/chat/completions',
        headers,
        model: (p: Profile) => `${p}/m`,
        pid: s.child.pid,
      };
      return { child: s.child, target };
    },
    portkey: async () => {
      const s = await startPortkey();
      const headers = (p: Profile) => ({
        authorization: 'Bearer sk-bench',
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${up.url}/${p}/v1`,
      });
      return {
        child: s.child,
        target: {
          name: 'portkey',
          url: s.url,
          path: () => '/v1/chat/completions',
          headers,
          model: () => 'm',
          pid: s.child.pid,
        },
      };
    },
  };
  const directPool = new Pool(up.url, { connections: 2048 });
  const rows: Array<Record<string, string | number | null>> = [];
  const cases = rates.flatMap((rate) =>
    profiles.flatMap((profile) => modes.map((stream) => ({ rate, profile, stream }))),
  );
  for (const c of cases) rows.push({ rate: c.rate, profile: c.profile, mode: c.stream ? 'ttft' : 'total' });
  try {
    for (const g of gateways) {
      const { child, target } = await launch[g]!();
      const pool = new Pool(target.url, { connections: 2048 });
      try {
        process.stderr.write(`${g}: warm-up\n`);
        for (const p of profiles)
          for (const s of modes) await load(pool, target, p, s, rates[0]!, values.quick ? 1 : 3);
        for (const [i, c] of cases.entries()) {
          const added: Array<{ p50: number; p99: number }> = [];
          let cpu = 0;
          let errors = 0;
          for (let t = 0; t < trials; t++) {
            process.stderr.write(
              `${g}: ${c.rate} req/s ${c.profile} ${rows[i]!.mode} (trial ${t + 1}/${trials})\n`,
            );
            const d = await load(directPool, direct, c.profile, c.stream, c.rate, seconds);
            const r = await load(pool, target, c.profile, c.stream, c.rate, seconds);
            if (r.errors === 0) added.push({ p50: r.p50 - d.p50, p99: r.p99 - d.p99 });
            cpu += r.cpu / trials;
            errors += r.errors;
          }
          const med = (k: 'p50' | 'p99') =>
            added.length
              ? r3(
                  quantile(
                    added.map((a) => a[k]),
                    0.5,
                  ),
                )
              : null;
          Object.assign(rows[i]!, {
            [`${g}_p50`]: med('p50'),
            [`${g}_p99`]: med('p99'),
            [`${g}_cpu`]: r3(cpu),
            [`${g}_errors`]: errors,
          });
        }
      } finally {
        await pool.close();
        child.kill();
        await once(child, 'exit');
      }
    }
  } finally {
    await directPool.close();
    up.child.kill();
  }
  const ratio = (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' ? r3(a / Math.max(0.001, b)) : null;
  for (const r of rows) {
    r.p50_vs_floor = ratio(r.agentry_p50, r.floor_p50);
    r.p50_vs_portkey = ratio(r.agentry_p50, r.portkey_p50);
    r.cpu_vs_floor = ratio(r.agentry_cpu, r.floor_cpu);
  }
  console.log(
    '\nadded ms = gateway percentile − direct percentile (median over trials); cpu = CPU ms per request of the gateway process; - = failed requests',
  );
  const cols = [
    'rate',
    'profile',
    'mode',
    ...gateways.flatMap((g) => [`${g}_p50`, `${g}_p99`, `${g}_cpu`]),
    'p50_vs_floor',
    'p50_vs_portkey',
    'cpu_vs_floor',
  ];
  console.log(cols.map((h) => h.padStart(15)).join(''));
  for (const r of rows) console.log(cols.map((h) => String(r[h] ?? '-').padStart(15)).join(''));
  console.log(JSON.stringify({ bench: 'gateway', seconds, rates, trials, rows }));
}

const { values: role } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' } },
  strict: false,
});
if (role.role === 'upstream') serveUpstream();
else if (role.role === 'floor') serveFloor(String(role.upstream));
else if (role.role === 'agentry') await serveAgentry(String(role.upstream));
else await main();
