/**
 * Model gateway overhead: the latency Agentry adds in front of an OpenAI-compatible upstream,
 * against the Portkey gateway (`@portkey-ai/gateway`) in front of the same upstream, in one run.
 *
 * A fake upstream answers instantly ("0 ms") or like a real model ("300 ms to the first token, then
 * 30 tokens/s"). An open-loop load generator sends requests at a fixed rate (500 and 2,000 req/s),
 * timing each from its scheduled send time (no coordinated omission), non-streaming (whole answer)
 * and streaming (time to the first token: the first chunk with content, for every target alike —
 * response headers are not a token, and a gateway may send them before or after the upstream's
 * first chunk). Added latency = gateway percentile − direct percentile.
 * Agentry runs with auth, tenant policy, budgets, rate limits and usage recording on. A third
 * contender, `floor`, is a bare Node proxy (node:http and undici, the body passed through): what
 * it adds is what one more Node process on the path costs on this machine, whoever writes it.
 * Each gateway is measured in its own phase: its process is started for that phase and stopped
 * after it, so the other gateway's process is not running meanwhile; each process just started gets
 * the same unmeasured warm-up (`--warm-up` s, 3 by default, per profile and mode at the first
 * rate); in each phase every case runs direct, then through the gateway, and the added latency is
 * taken against that direct run.
 * Upstream, Agentry, Portkey and the load generator (this process) each run in their own process;
 * RSS and CPU time are read from /proc. CPU ms per request of each gateway is the figure that noise
 * on a shared machine moves least, and `main` that of its main thread alone (its code and its
 * socket calls, without GC helpers); `gen_lag` (how late the generator sent, p99) says whether the
 * generator itself kept up, and `gen+up` (the CPU the generator and the upstream used per request)
 * how much of the machine they left. Agentry also reports its event-loop delay p99 and GC pause
 * per request, which tell where its p99 comes from.
 *
 *   node --import tsx bench/gateway.ts [--quick] [--seconds 10] [--rates 500,2000]
 *     [--only direct,floor,agentry,portkey] [--profiles instant,realistic] [--modes json,stream]
 *     [--trials N]   (each case N times, direct and gateway in turn; each figure is the median
 *                     over the trials, and every trial's added p99 is listed below the table)
 *     [--rounds N]   (the phases N times over, each gateway's process started anew each round:
 *                     floor, agentry, floor, agentry, …; every round's trials count, so a machine
 *                     that gets noisier or quieter during the run weighs on each gateway alike)
 *     [--prof-dir DIR]   (CPU and allocation profiles of Agentry during the runs; read them with
 *                         bench/cpu-top.ts DIR; the .heapprofile opens in Chrome DevTools too)
 *     [--live-heap DIR]   (what Agentry holds per call in flight: the objects allocated in the middle
 *                          of a load that are still live at its end, by site; read with cpu-top.ts)
 *     [--pin]   (the gateway measured on CPU 1 alone, the generator and the upstream on CPU 0)
 *     [--agentry-flags='--trace-gc …']   (node flags for Agentry's process, after those of
 *                                         `npm start`, which it always gets; for A/B runs)
 *     [--timeline FILE]   (each measured request, and Agentry's GC pauses and event-loop gaps, on
 *                          the wall clock in FILE.<target>; read with bench/gateway-timeline.ts)
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { quantile, r3, tsLoaderArgs } from './bench-app.ts';
import { closePool, load, type Probe, type Profile, rssMb, type Target } from './gateway-load.ts';
import { recordAgentryTimeline } from './gateway-timeline.ts';

const self = fileURLToPath(import.meta.url);

// ---- child roles -------------------------------------------------------------------------------

/** The fake upstream: `/instant/v1/…` answers at once; `/realistic/v1/…` waits 300 ms, then 30 tokens/s. */
function serveUpstream(): void {
  const words = Array.from({ length: 10 }, (_, i) => `word${i} `);
  const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  // Every answer is the same: its events are rendered once (the upstream shares the machine with
  // what is measured, so its CPU per chunk is kept small).
  const tokens = words.map((w, i) =>
    chunk(i === 0 ? { role: 'assistant', content: w } : { content: w }, null),
  );
  const last = `${chunk({}, 'stop')}data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage })}\n\ndata: [DONE]\n\n`;
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
        if (i < tokens.length) {
          res.write(tokens[i]);
          i += 1;
          if (gap && i < tokens.length) setTimeout(next, gap);
          else next();
          return;
        }
        res.end(last);
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

/**
 * The floor: the least any Node gateway does, a bare proxy (node:http in, an undici pool out, the
 * body passed through, no auth, policy, accounting or parsing). What it adds is what this machine
 * adds for one more Node process on the path; what Agentry adds beyond it is Agentry's own.
 */
function serveProxy(upstream: string): void {
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
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
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
  closeOnTerm(close);
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  // With --prof-dir the parent brackets the measured runs with `prof` messages: the profile then
  // holds the request path only, not start-up and migrations.
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  const { counted, countStatements } = await import('./count-statements.ts');
  countStatements(app.services.db as never);
  // Where a p99 comes from: how late this process's event loop ran (a 1 ms timer's lateness) and
  // how long V8's collector paused it, over each load (reset by every probe).
  const { monitorEventLoopDelay, PerformanceObserver } = await import('node:perf_hooks');
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const gc = { ms: 0, max: 0, count: 0 };
  const timeline = process.env.BENCH_TIMELINE
    ? recordAgentryTimeline(`${process.env.BENCH_TIMELINE}.agentry`)
    : undefined;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      timeline?.gc(e);
      gc.ms += e.duration;
      gc.max = Math.max(gc.max, e.duration);
      gc.count += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', async (m: ChildMessage) => {
    if (m.live) {
      await liveHeap(session, m.live, m.dir!);
      return;
    }
    if (m.probe) {
      timeline?.flush();
      const probe: Probe = {
        statements: counted.statements,
        loopP99: loop.percentile(99) / 1e6,
        loopMax: loop.max / 1e6,
        gcMs: gc.ms,
        gcMaxMs: gc.max,
      };
      loop.reset();
      Object.assign(gc, { ms: 0, max: 0, count: 0 });
      process.send?.({ probe });
      return;
    }
    if (m.prof === 'start') {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    } else if (m.prof === 'stop' && m.dir) {
      const { profile } = await session.post('Profiler.stop');
      const { profile: heap } = await session.post('HeapProfiler.stopSampling');
      saveProfiles(m.dir, { cpuprofile: profile, heapprofile: heap });
      session.disconnect();
    }
    process.send?.({ prof: m.prof });
  });
  process.send?.({ url, key: app.adminKey });
}

/** What the parent asks of Agentry's process: a probe of its figures, CPU/allocation profiles, a live heap. */
interface ChildMessage {
  prof?: 'start' | 'stop';
  live?: 'start' | 'stop';
  dir?: string;
  probe?: true;
}

/**
 * What a call holds while it is in flight, by allocation site: objects sampled from `start` on that
 * are still reachable at `stop`, after a full collection (so dead objects not yet swept do not
 * count). Under a steady load that is the state of the calls in flight, plus whatever outlives them.
 */
async function liveHeap(session: Session, what: 'start' | 'stop', dir: string) {
  if (what === 'start') {
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 4096 });
    return;
  }
  await session.post('HeapProfiler.collectGarbage');
  const { profile } = await session.post('HeapProfiler.stopSampling');
  saveProfiles(dir, { 'live.heapprofile': profile });
  session.disconnect();
}

/** Writes profiles as `agentry-<pid>.<kind>` in `dir` (cpu-top.ts reads them by that suffix). */
function saveProfiles(dir: string, byKind: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  for (const [kind, profile] of Object.entries(byKind)) {
    writeFileSync(`${dir}/agentry-${process.pid}.${kind}`, JSON.stringify(profile));
  }
}

// ---- parent: load generation -----------------------------------------------------------------

async function start(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  execArgv: string[] = [],
): Promise<{ child: ChildProcess; msg: { url: string; key?: string } }> {
  const child = fork(self, args, {
    execArgv: [...tsLoaderArgs, ...execArgv],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [msg] = (await once(child, 'message')) as [{ url: string; key?: string }];
  return { child, msg };
}

/**
 * Portkey from this checkout's node_modules, or from PORTKEY_DIR (a directory where another
 * `@portkey-ai/gateway` install lives). On Node 20, Portkey 1.15.2's streaming answers 500
 * (`TypeError: immutable`: it appends headers to the upstream fetch Response, whose headers are
 * immutable); pinning `@hono/node-server` to 1.14.2 (Portkey-AI/gateway#1389) does not avoid it, so
 * its streaming rows show errors and no latency. PORTKEY_LOG=1 shows its log.
 */
async function startPortkey(): Promise<{ child: ChildProcess; url: string }> {
  const require = createRequire(process.env.PORTKEY_DIR ? `${process.env.PORTKEY_DIR}/` : import.meta.url);
  const entry = require.resolve('@portkey-ai/gateway/build/start-server.js');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [entry, `--port=${port}`], {
    stdio: ['ignore', 'ignore', process.env.PORTKEY_LOG ? 'inherit' : 'ignore'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return { child, url };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('portkey did not start');
}

/** The node flags in package.json's `start` script (`node --flag … bin/agentry.js serve`). */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  return pkg.scripts.start.split(' ').filter((w) => w.startsWith('--'));
}

type Result = Awaited<ReturnType<typeof load>>;

/** What runs in front of the upstream, each in its own phase: the bare proxy first, as the floor. */
const GATEWAYS = ['floor', 'agentry', 'portkey'] as const;
type Gateway = (typeof GATEWAYS)[number];

/**
 * With --live-heap, samples what Agentry allocates from 2 s into a measured load until 2 s before
 * its end, keeping only what is still live then (see liveHeap): that trial's latencies include the
 * full collection, so they are not a measurement.
 */
function liveHeapWindow(child: ChildProcess | undefined, dir: string | undefined, seconds: number) {
  if (!child || !dir) return undefined;
  return setTimeout(() => {
    child.send({ live: 'start', dir });
    setTimeout(() => child.send({ live: 'stop', dir }), (seconds - 4) * 1000).unref();
  }, 2000).unref();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rates: { type: 'string' },
      only: { type: 'string', default: 'direct,floor,agentry,portkey' },
      profiles: { type: 'string', default: 'instant,realistic' },
      modes: { type: 'string', default: 'json,stream' },
      'prof-dir': { type: 'string' },
      'live-heap': { type: 'string' },
      'agentry-flags': { type: 'string', default: '' },
      'warm-up': { type: 'string', default: '3' },
      trials: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '1' },
      pin: { type: 'boolean', default: false },
      timeline: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
  const rates = (values.rates ?? (values.quick ? '500' : '500,2000')).split(',').map(Number);
  const only = new Set(values.only.split(','));
  only.add('direct'); // every figure is relative to it
  const profiles = values.profiles.split(',') as Profile[];
  const modes = values.modes.split(',').map((m) => m === 'stream');
  const profDir = values['prof-dir'];
  const liveDir = values['live-heap'];
  if (liveDir && (profDir || seconds < 6)) {
    throw new Error(
      '--live-heap takes the inspector session and a load of 6 s or more: not with --prof-dir or --quick',
    );
  }
  // Seconds of unmeasured load per profile and mode on each process just started: V8 is still
  // compiling the request path with TurboFan seconds into a load (hundreds of functions, on the
  // same two cores as everything else), which is start-up, not the gateway's cost per request.
  const warmUpS = Number(values['warm-up']);
  // Each case is measured this many times (direct, then the gateway, in turn) and each figure is the
  // median over the trials: on this shared machine one run's p99 can swing several-fold.
  const trials = Math.max(1, Number(values.trials));
  const rounds = Math.max(1, Number(values.rounds));
  // Agentry runs with the node flags of `npm start` (how users start it), then any given here.
  const agentryFlags = [...startFlags(), ...values['agentry-flags'].split(' ').filter(Boolean)];

  // The generator and Agentry's process (started with this environment) both read it.
  if (values.timeline) process.env.BENCH_TIMELINE = values.timeline;
  const stalls = machineStalls(3000);
  const up = await start(['--role', 'upstream']);
  // --pin: the gateway measured gets CPU 1 to itself; the load generator and the upstream share
  // CPU 0, in the direct runs too. Without it, all of them contend for both cores.
  const pin = (pid: number | undefined, cpu: string) => {
    if (values.pin && pid) execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
  };
  pin(process.pid, '0');
  pin(up.child.pid, '0');
  const direct: Target = {
    name: 'direct',
    origin: up.msg.url,
    path: (p) => `/${p}/v1/chat/completions`,
    headers: () => ({}),
    model: () => 'm',
    upstreamPid: up.child.pid,
  };
  /** Starts one gateway for its phase: the other gateway is not running while it is measured. */
  const contenders: Record<Gateway, () => Promise<{ target: Target; child: ChildProcess }>> = {
    floor: async () => {
      const { child, msg } = await start(['--role', 'proxy', '--upstream', up.msg.url]);
      const target: Target = {
        name: 'floor',
        origin: msg.url,
        path: (p) => `/${p}/v1/chat/completions`,
        headers: () => ({}),
        model: () => 'm',
        pid: child.pid,
        upstreamPid: up.child.pid,
      };
      return { target, child };
    },
    agentry: async () => {
      const { child, msg } = await start(
        ['--role', 'agentry', '--upstream', up.msg.url],
        process.env,
        agentryFlags,
      );
      const target: Target = {
        name: 'agentry',
        origin: msg.url,
        path: () => '/v1/chat/completions',
        headers: () => ({ authorization: `Bearer ${msg.key}`, 'x-agentry-agent': 'bench' }),
        model: (p) => `${p}/m`,
        pid: child.pid,
        upstreamPid: up.child.pid,
        probe: async () => {
          child.send({ probe: true });
          const [m] = (await once(child, 'message')) as [{ probe: Probe }];
          return m.probe;
        },
      };
      return { target, child };
    },
    portkey: async () => {
      const { child, url } = await startPortkey();
      const target: Target = {
        name: 'portkey',
        origin: url,
        path: () => '/v1/chat/completions',
        headers: (p) => ({
          authorization: 'Bearer sk-bench',
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': `${up.msg.url}/${p}/v1`,
        }),
        model: () => 'm',
        pid: child.pid,
        upstreamPid: up.child.pid,
      };
      return { target, child };
    },
  };
  const phases = GATEWAYS.filter((name) => only.has(name));
  const cases = rates.flatMap((rate) =>
    profiles.flatMap((profile) => modes.map((stream) => ({ rate, profile, stream }))),
  );
  // Per case: each gateway's trials, each its result and the direct result measured just before it.
  const results = cases.map(() => ({}) as Record<string, Array<{ direct: Result; gateway?: Result }>>);
  const rss: Record<string, number> = { agentry_rss_mb: 0, portkey_rss_mb: 0, floor_rss_mb: 0 };
  let running: ChildProcess | undefined;
  try {
    // One phase per gateway (or one of direct alone): a gateway's process is started for its own
    // phase and stopped after it, so no other gateway's process (its timers, its collector, the
    // backlog of a rate it could not keep up with) runs while it is measured. With --rounds the
    // phases repeat in turn, so a change in the machine's noise during the run is shared out.
    const order = phases.length > 0 ? phases : [undefined];
    const schedule = Array.from({ length: rounds }, () => order).flat();
    for (const [n, name] of schedule.entries()) {
      const round = rounds > 1 ? ` (round ${Math.floor(n / order.length) + 1}/${rounds})` : '';
      const contender = name ? await contenders[name]() : undefined;
      running = contender?.child;
      pin(contender?.target.pid, '1');
      // The same unmeasured warm-up for every process just started (JIT, connection pools), so the
      // first measured case does not pay for a cold start: direct's in the first phase, each
      // gateway's in its own.
      for (const target of [...(n === 0 ? [direct] : []), contender?.target]) {
        if (!target) continue;
        process.stderr.write(`  warm-up → ${target.name}\n`);
        for (const profile of profiles)
          for (const stream of modes) await load(target, profile, stream, rates[0]!, warmUpS, true);
      }
      const prof = async (what: 'start' | 'stop') => {
        if (!profDir || name !== 'agentry' || !contender) return;
        contender.child.send({ prof: what, dir: profDir });
        await once(contender.child, 'message');
      };
      await prof('start');
      for (const [i, c] of cases.entries()) {
        const runs: Array<{ direct: Result; gateway?: Result }> = [];
        for (let t = 1; t <= trials; t++) {
          const trial = trials > 1 ? ` (trial ${t}/${trials})` : '';
          const label = `  ${c.rate} req/s ${c.profile} ${c.stream ? 'stream' : 'json'}${trial}${round} →`;
          process.stderr.write(`${label} direct\n`);
          const d = await load(direct, c.profile, c.stream, c.rate, seconds);
          let g: Result | undefined;
          if (contender) {
            process.stderr.write(`${label} ${name}\n`);
            const live = liveHeapWindow(name === 'agentry' ? contender.child : undefined, liveDir, seconds);
            g = await load(contender.target, c.profile, c.stream, c.rate, seconds);
            clearTimeout(live);
          }
          runs.push({ direct: d, gateway: g });
        }
        const key = name ?? 'direct';
        results[i]![key] = [...(results[i]![key] ?? []), ...runs];
      }
      await prof('stop');
      if (contender) {
        rss[`${name}_rss_mb`] = rssMb(contender.child.pid);
        await closePool(contender.target);
        contender.child.kill();
        await once(contender.child, 'exit');
      }
      running = undefined;
    }
  } finally {
    await closePool(direct);
    for (const c of [up.child, running]) c?.kill();
  }
  const rows: Array<Record<string, string | number | null>> = [];
  for (const [i, c] of cases.entries()) {
    const byName = results[i]!;
    const byPhase = Object.values(byName);
    const all = byPhase.flat();
    // The direct figures shown are those of the first phase; each gateway's added latency is taken
    // against the direct run just before its own, trial by trial.
    const first = byPhase[0]!;
    const row: Record<string, string | number | null> = {
      rate: c.rate,
      profile: c.profile,
      mode: c.stream ? 'ttft' : 'total',
      direct_p50: median(first.map((r) => r.direct.p50)),
      direct_p99: median(first.map((r) => r.direct.p99)),
      // What the generator and the upstream themselves used, per request: the rest of the machine.
      direct_gen_up_cpu: median(first.map((r) => r.direct.genUpCpuPerRequest)),
      gen_lag_p99: Math.max(...all.flatMap((r) => [r.direct.lagP99, r.gateway?.lagP99 ?? 0])),
    };
    for (const name of GATEWAYS) {
      const measured = (byName[name] ?? []).flatMap((r) => (r.gateway ? [r.gateway] : []));
      // A target that failed every request has no latency: null, not a made-up number.
      const ok = (byName[name] ?? []).filter((r) => r.gateway && r.gateway.n > 0);
      const added = (q: 'p50' | 'p99') => ok.map((r) => r.gateway![q] - r.direct[q]);
      const of = (pick: (r: Result) => number | null | undefined) => median(measured.map(pick));
      row[`${name}_add_p50`] = median(added('p50'));
      row[`${name}_add_p99`] = median(added('p99'));
      // Every trial's added p99, so the spread behind the median is on record.
      row[`${name}_add_p99_trials`] = ok.length > 0 ? added('p99').map(r3).join(' ') : null;
      row[`${name}_cpu_ms_req`] = of((r) => r.cpuPerRequest);
      row[`${name}_main_cpu_ms_req`] = of((r) => r.mainCpuPerRequest);
      row[`${name}_gen_up_cpu`] = of((r) => r.genUpCpuPerRequest);
      row[`${name}_statements_req`] = of((r) => r.statementsPerRequest);
      row[`${name}_loop_p99`] = of((r) => r.loopP99);
      row[`${name}_gc_ms_req`] = of((r) => r.gcPerRequest);
      row[`${name}_gc_max_ms`] = of((r) => r.gcMaxMs);
      row[`${name}_errors`] = measured.length > 0 ? measured.reduce((n, r) => n + r.errors, 0) : null;
    }
    const a = row.agentry_add_p50;
    const p = row.portkey_add_p50;
    row.ratio_p50 = typeof a === 'number' && typeof p === 'number' ? a / Math.max(0.001, p) : null;
    rows.push(row);
  }
  const f = (n: unknown) => (typeof n === 'number' ? n.toFixed(2) : String(n ?? '-'));
  console.log(
    '\nadded latency in ms (gateway percentile − direct percentile); ratio = agentry/portkey p50 added;',
  );
  console.log(
    'floor = a bare Node proxy (no auth, policy or accounting); ' +
      'cpu = CPU ms per request of the gateway process (a/p/f), main = of its main thread alone; stmts = store statements per request (flushes ' +
      'included); loop99 = event-loop delay p99 (ms), gc = GC pause ms per request and gcmax = the ' +
      'longest GC pause (ms), of the ' +
      'gateway process; gen+up = CPU ms per request of the load generator and the fake upstream together ' +
      '(d: direct, a: through agentry); gen_lag = generator send lag p99 (ms)',
  );
  const head = [
    'rate',
    'profile',
    'mode',
    'direct_p50',
    'agentry+p50',
    'agentry+p99',
    'portkey+p50',
    'portkey+p99',
    'floor+p50',
    'floor+p99',
    'ratio_p50',
    'cpu(a)',
    'cpu(p)',
    'cpu(f)',
    'main(a)',
    'main(f)',
    'stmts(a)',
    'loop99(a)',
    'gc(a)',
    'gcmax(a)',
    'gen+up(d)',
    'gen+up(a)',
    'gen_lag',
    'errors(a/p)',
  ];
  console.log(head.map((h) => h.padStart(12)).join(''));
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
        r.floor_add_p50,
        r.floor_add_p99,
        r.ratio_p50,
        r.agentry_cpu_ms_req,
        r.portkey_cpu_ms_req,
        r.floor_cpu_ms_req,
        r.agentry_main_cpu_ms_req,
        r.floor_main_cpu_ms_req,
        r.agentry_statements_req,
        r.agentry_loop_p99,
        r.agentry_gc_ms_req,
        r.agentry_gc_max_ms,
        r.direct_gen_up_cpu,
        r.agentry_gen_up_cpu,
        r.gen_lag_p99,
        `${r.agentry_errors ?? '-'}/${r.portkey_errors ?? '-'}`,
      ]
        .map((v) => f(v).padStart(12))
        .join(''),
    );
  }
  console.log(
    `RSS after the run: agentry ${rss.agentry_rss_mb} MB, portkey ${rss.portkey_rss_mb} MB, floor ${rss.floor_rss_mb} MB`,
  );
  if (trials * rounds > 1) {
    const over = rounds > 1 ? `${trials} trial(s) in each of ${rounds} rounds` : `${trials} trials`;
    console.log(`median of ${over} per case; added p99 (ms) of each trial, in order:`);
    for (const r of rows) {
      const by = GATEWAYS.map((g) => `${g} ${r[`${g}_add_p99_trials`] ?? '-'}`).join('; ');
      console.log(`  ${r.rate} req/s ${r.profile} ${r.mode}: ${by}`);
    }
  }
  const behind = rows.filter((r) => Number(r.gen_lag_p99) > 5);
  if (behind.length > 0) {
    console.log(
      `warning: in ${behind.length} row(s) the load generator sent requests more than 5 ms late (p99): ` +
        'the machine is too busy for those latencies to mean anything; CPU per request still holds',
    );
  }
  console.log(
    `this machine, idle, before the run: a busy loop alone was stalled ${stalls.count} times for more ` +
      `than 1 ms in ${stalls.seconds} s, ${stalls.totalMs} ms in all, the longest ${stalls.maxMs} ms ` +
      '(host scheduling: every process on the path meets such stalls, whatever it runs)',
  );
  console.log(
    JSON.stringify({
      bench: 'gateway',
      seconds,
      rates,
      trials,
      rounds,
      rows,
      ...rss,
      machine_stalls: stalls,
    }),
  );
}

/**
 * How often this machine itself stops a running process: a busy loop, alone, notes every gap of
 * more than 1 ms between two of its iterations. On a shared virtual machine these stalls (the host
 * running something else) reach several ms, which bounds any p99 measured here from below.
 */
function machineStalls(ms: number): { seconds: number; count: number; totalMs: number; maxMs: number } {
  const gaps: number[] = [];
  const end = performance.now() + ms;
  let last = performance.now();
  for (let now = last; now < end; now = performance.now()) {
    if (now - last > 1) gaps.push(now - last);
    last = now;
  }
  const sum = gaps.reduce((a, b) => a + b, 0);
  return { seconds: ms / 1000, count: gaps.length, totalMs: r3(sum), maxMs: r3(Math.max(0, ...gaps)) };
}

/** The middle trial's value (of an even count, the upper middle one); null when none reported it. */
function median(values: Array<number | null | undefined>): number | null {
  const xs = values.filter((v): v is number => typeof v === 'number');
  return xs.length > 0 ? quantile(xs, 0.5) : null;
}

const { values: roleArgs } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' } },
  strict: false,
});
if (roleArgs.role === 'upstream') serveUpstream();
else if (roleArgs.role === 'proxy') serveProxy(String(roleArgs.upstream));
else if (roleArgs.role === 'agentry') await serveAgentry(String(roleArgs.upstream));
else await main();
