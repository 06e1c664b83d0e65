/**
 * Model gateway overhead: the latency Agentry adds in front of an OpenAI-compatible upstream against
 * `floor` (a bare Node proxy) and Portkey, each alone next to a fake upstream that answers at once
 * ("instant") or like a model ("realistic": 300 ms, then 10 tokens at 30/s). Open loop, each request
 * timed from when it was due (no coordinated omission), streamed ones to the first content chunk;
 * added = gateway percentile − direct percentile measured just before. CPU ms per request of the
 * gateway's process is the figure noise moves least.
 *
 *   node --import tsx bench/gateway.ts [--quick] [--seconds 10] [--rates 500,2000] [--contenders floor,agentry]
 *   DATABASE_URL / REDIS_URL put Agentry on PostgreSQL / Redis (as in production); PGlite otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { cpuMs, forkChild, quantile, r3, serveBenchApp } from './bench-app.ts';

type Profile = 'instant' | 'realistic';
type Req = { path: string; headers: Record<string, string>; model: string };
type Target = { url: string; req: (p: Profile) => Req; pid?: number };

const listen = (server: ReturnType<typeof createServer>) => {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
};

/** The fake upstream: events rendered once, so its CPU per chunk stays small. */
function serveUpstream(): void {
  const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const words = Array.from({ length: 10 }, (_, i) => `word${i} `);
  const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
  const tokens = words.map((w, i) =>
    chunk(i === 0 ? { role: 'assistant', content: w } : { content: w }, null),
  );
  const last = `${chunk({}, 'stop')}data: ${JSON.stringify({ ...base, choices: [], usage })}\n\ndata: [DONE]\n\n`;
  const message = { role: 'assistant', content: words.join('') };
  const choices = [{ index: 0, message, finish_reason: 'stop' }];
  const whole = JSON.stringify({ ...base, object: 'chat.completion', choices, usage });
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
        const headers = { 'content-type': 'application/json' };
        const up = await pool.request({
          method: 'POST',
          path: req.url ?? '/',
          headers,
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
  const { tenantsFileSchema } = await import('../src/config/tenant-policy.ts');
  const huge = { requests_per_minute: 1e9 };
  const policy = {
    models: { allow: ['instant/*', 'realistic/*'], deny: ['*/forbidden'] },
    budgets: { tokens_per_day: 1e12, cost_per_month: 1e9, agents: { bench: { tokens_per_day: 1e12 } } },
    rate_limits: { ...huge, tokens_per_minute: 1e12, per_key: huge },
  };
  const policies = tenantsFileSchema.parse({ tenants: { default: policy } });
  const store = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  const config = {
    redis_url: process.env.REDIS_URL,
    models: {
      providers: {
        instant: { type: 'openai', base_url: `${upstream}/instant/v1` },
        realistic: { type: 'openai', base_url: `${upstream}/realistic/v1` },
      },
      prices: { 'instant/m': { input: 1, output: 2 }, 'realistic/m': { input: 1, output: 2 } },
    },
  } as const;
  await serveBenchApp(store, config, (app) => app.services.policies.set(policies));
}

/** Portkey 1.15.2 from node_modules; on Node 20 it answers every streamed request 500. */
async function startPortkey(): Promise<{ child: ChildProcess; url: string }> {
  const require = createRequire(import.meta.url);
  const script = require.resolve('@portkey-ai/gateway/build/start-server.js');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [script, `--port=${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const up = () =>
    fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
  for (let i = 0; i < 100; i++)
    if (await up()) return { child, url };
    else await new Promise((r) => setTimeout(r, 100));
  throw new Error('portkey did not start');
}

/** One request; resolves at the first chunk with content (streaming) or at the end. */
async function send(pool: Pool, r: Req, body: string, stream: boolean): Promise<number> {
  const headers = { 'content-type': 'application/json', ...r.headers };
  const res = await pool.request({ method: 'POST', path: r.path, headers, body });
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
  const r = t.req(profile);
  const body = JSON.stringify({
    model: r.model,
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Say ten words.' }],
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  });
  const total = Math.floor(rate * seconds);
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const onError = () => void errors++;
  const cpu0 = cpuMs(t.pid);
  const t0 = performance.now() + 20;
  for (let sent = 0; sent < total; ) {
    for (; sent < total && t0 + (sent * 1000) / rate <= performance.now(); sent++) {
      const due = t0 + (sent * 1000) / rate;
      pending.push(send(pool, r, body, stream).then((at) => void latencies.push(at - due), onError));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const cpu = (cpuMs(t.pid) - cpu0) / total;
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), errors, cpu };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rates: { type: 'string' },
      contenders: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
  const rates = (values.rates ?? (values.quick ? '500' : '500,2000')).split(',').map(Number);
  const profiles: Profile[] = ['instant', 'realistic'];
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const startFlags = (pkg.scripts.start as string).split(' ').filter((w) => w.startsWith('--'));

  const start = (role: string, execArgv: string[] = []) =>
    forkChild<{ url: string; key?: string }>(import.meta.url, ['--role', role, '--upstream', up.url], {
      execArgv,
    });
  const up = await forkChild<{ url: string }>(import.meta.url, ['--role', 'upstream']);
  const path = '/v1/chat/completions';
  const direct = (p: Profile) => ({ path: `/${p}${path}`, headers: {}, model: 'm' });
  const launch: Record<string, () => Promise<{ child: ChildProcess; target: Target }>> = {
    floor: async () => {
      const s = await start('floor');
      return { child: s.child, target: { url: s.url, req: direct, pid: s.child.pid } };
    },
    agentry: async () => {
      const s = await start('agentry', startFlags);
      const headers = { authorization: `Bearer ${s.key}`, 'x-agentry-agent': 'bench' };
      return {
        child: s.child,
        target: { url: s.url, req: (p) => ({ path, headers, model: `${p}/m` }), pid: s.child.pid },
      };
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
        target: { url: s.url, req: (p) => ({ path, headers: headers(p), model: 'm' }), pid: s.child.pid },
      };
    },
  };
  const directPool = new Pool(up.url, { connections: 2048 });
  const cases = rates.flatMap((rate) =>
    profiles.flatMap((profile) => [false, true].map((stream) => ({ rate, profile, stream }))),
  );
  const rows: Array<Record<string, string | number | null>> = cases.map((c) => ({
    rate: c.rate,
    profile: c.profile,
    mode: c.stream ? 'ttft' : 'total',
  }));
  for (const g of values.contenders?.split(',') ?? Object.keys(launch)) {
    const { child, target } = await launch[g]!();
    const pool = new Pool(target.url, { connections: 2048 });
    try {
      process.stderr.write(`${g}: warm-up\n`);
      for (const c of cases.filter((c) => c.rate === rates[0]))
        await load(pool, target, c.profile, c.stream, c.rate, values.quick ? 1 : 3);
      for (const [i, c] of cases.entries()) {
        process.stderr.write(`${g}: ${c.rate} req/s ${c.profile} ${rows[i]!.mode}\n`);
        const d = await load(directPool, { url: up.url, req: direct }, c.profile, c.stream, c.rate, seconds);
        const r = await load(pool, target, c.profile, c.stream, c.rate, seconds);
        const ok = r.errors === 0;
        Object.assign(rows[i]!, {
          [`${g}_p50`]: ok ? r3(r.p50 - d.p50) : null,
          [`${g}_p99`]: ok ? r3(r.p99 - d.p99) : null,
          [`${g}_cpu`]: r3(r.cpu),
          [`${g}_errors`]: r.errors,
        });
      }
    } finally {
      await pool.close();
      child.kill();
      await once(child, 'exit');
    }
  }
  await directPool.close();
  up.child.kill();
  // A floor that adds less than 0.1 ms over the direct call is within the noise of two runs of a
  // 600 ms answer (it measured −0.02 ms once, and the ratio to it 887×): it counts as 0.1 ms.
  const ratio = (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' ? r3(a / Math.max(0.1, b)) : null;
  for (const r of rows) {
    r.p50_vs_floor = ratio(r.agentry_p50, r.floor_p50);
    r.p50_vs_portkey = ratio(r.agentry_p50, r.portkey_p50);
    r.cpu_vs_floor = ratio(r.agentry_cpu, r.floor_cpu);
  }
  console.log('\nadded ms = gateway percentile − direct; cpu = CPU ms/request; null = failed requests');
  console.table(rows);
  const ratios = Object.fromEntries(
    rows.flatMap((r) =>
      (['p50_vs_floor', 'cpu_vs_floor', 'p50_vs_portkey'] as const).map((k) => [
        `${r.profile}_${r.mode}_${r.rate}_${k}`,
        r[k],
      ]),
    ),
  );
  const figures = Object.fromEntries(
    rows.flatMap((r) => [
      [`${r.profile}_${r.mode}_${r.rate}_added_p50_ms`, r.agentry_p50],
      [`${r.profile}_${r.mode}_${r.rate}_added_p99_ms`, r.agentry_p99],
    ]),
  );
  console.log(JSON.stringify({ bench: 'gateway', seconds, rates, rows, ratios, figures }));
}

const { values: role } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' } },
  strict: false,
});
if (role.role === 'upstream') serveUpstream();
else if (role.role === 'floor') serveFloor(String(role.upstream));
else if (role.role === 'agentry') await serveAgentry(String(role.upstream));
else await main();
