/**
 * Many runs in flight in one process: N streamed agent chats (`stream: true`) opened `--batch` at a
 * time and held open while the mock model waits `--delay` seconds before answering, against a bare
 * node:http server (the floor) that holds the same number of `text/event-stream` responses and
 * answers after the same delay. Each server runs in a process of its own. Per phase (opening: until
 * the last stream has started; plateau: until the first one ends; ending: until the last one ends):
 * runs/s opened, refusals by status and message, the max latency of /health/live polled from the
 * client every ~100 ms (not while the heap is probed: its forced full collection is the benchmark's
 * own pause); server heap (after a full GC) and RSS per run at the plateau; server CPU per
 * run to open (during opening) and over a life (from before opening to the last end), from /proc.
 *
 *   node --import tsx bench/many-runs.ts [--quick] [--runs 10000] [--batch 200] [--delay 120]
 *     [--store pglite|pglite-thread|postgres]   (postgres: a fresh database on DATABASE_URL's server;
 *     pglite-thread: the embedded store in its own thread, `store.pglite_thread`)
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { type BenchStore, chatTarget, cpuMs, forkChild, r3, serveBenchApp } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    batch: { type: 'string', default: '200' },
    delay: { type: 'string' },
    store: { type: 'string', default: 'pglite' },
    serve: { type: 'string' },
  },
});
const RUNS = Number(values.runs ?? (values.quick ? 500 : 10_000));
const BATCH = Number(values.batch);
const DELAY_MS = Number(values.delay ?? (values.quick ? 20 : 120)) * 1000;
const STORE = (['postgres', 'pglite-thread'] as const).find((s) => s === values.store) ?? 'pglite';
/** Every wait of the client is bounded: a stream that has not ended by then counts as unfinished. */
const END_BOUND_MS = DELAY_MS + 120_000;

/** In a served child: answers `mem` with the heap used after a full GC. */
function answerMemory(): void {
  process.on('message', (m) => {
    if (m !== 'mem') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ heap: process.memoryUsage().heapUsed });
  });
}

if (values.serve === 'bare') {
  // The floor: holds each stream, answers after the delay as the mock does (one chunk, then done).
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/health/live') {
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': waiting\n\n');
    const timer = setTimeout(() => {
      res.write('event: delta\ndata: {"content":"Hello"}\n\n');
      res.end('event: done\ndata: {}\n\n');
    }, DELAY_MS);
    res.on('close', () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 0;
  server.maxConnections = Number.POSITIVE_INFINITY;
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  answerMemory();
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
} else if (values.serve) {
  answerMemory();
  await serveBenchApp(values.serve as BenchStore, {
    models: { mock: { first_chunk_delay_ms: DELAY_MS } },
  });
} else {
  const rows = [];
  for (const role of ['bare', STORE]) rows.push(await measure(role));
  console.table(rows);
  const [floor, server] = [rows[0]!, rows[1]!];
  const ratio = (k: keyof typeof server) =>
    typeof server[k] === 'number' && typeof floor[k] === 'number' && floor[k] > 0
      ? r3((server[k] as number) / (floor[k] as number))
      : null;
  const ratios = {
    [`heap_per_run_vs_floor_${STORE}`]: ratio('heap_kb_per_run'),
    [`rss_per_run_vs_floor_${STORE}`]: ratio('rss_kb_per_run'),
    [`cpu_open_per_run_vs_floor_${STORE}`]: ratio('cpu_open_ms_per_run'),
    [`cpu_life_per_run_vs_floor_${STORE}`]: ratio('cpu_life_ms_per_run'),
    [`opened_per_s_vs_floor_${STORE}`]: ratio('opened_per_s'),
  };
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v}`);
  if (server.client_cpu_pct_opening >= 90)
    console.log(
      `the client used ${server.client_cpu_pct_opening}% of a core while opening: the opening rate may be the client's limit`,
    );
  console.log(
    JSON.stringify({
      bench: 'many-runs',
      runs: RUNS,
      batch: BATCH,
      delay_s: DELAY_MS / 1000,
      rows,
      ratios,
      figures: {
        [`opened_per_s_${STORE}`]: server.opened_per_s,
        [`refused_${STORE}`]: server.refused,
        [`unfinished_${STORE}`]: server.unfinished,
        [`health_live_max_ms_${STORE}`]: Math.max(
          server.live_max_ms_opening,
          server.live_max_ms_plateau,
          server.live_max_ms_ending,
        ),
        [`cpu_open_ms_per_run_${STORE}`]: server.cpu_open_ms_per_run,
        [`heap_kb_per_run_${STORE}`]: server.heap_kb_per_run,
      },
    }),
  );
  process.exit(0);
}

/** Holds RUNS streams on one server (the floor or Agentry) and returns its row. */
async function measure(role: string) {
  const s = await forkChild<{ url: string; key?: string }>(import.meta.url, ['--serve', role], {
    execArgv: ['--expose-gc'],
  });
  const pid = s.child.pid!;
  /**
   * Counts the heap probes begun and ended: the probe's full collection stops the server's loop
   * (~0.4 s at 10,000 runs), which is the benchmark's doing, so a /health/live poll that overlaps
   * one is not counted.
   */
  let probes = 0;
  const heap = async () => {
    probes++;
    s.child.send('mem');
    const used = await new Promise<number>((r) =>
      s.child.once('message', (m: { heap: number }) => r(m.heap)),
    );
    probes++;
    return used;
  };
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
  const { headers, path } = await chatTarget(s, 'bench-many-runs', '/chat');
  const body = JSON.stringify({ message: 'hello there', stream: true });
  // One socket per stream: no pooling, no bound on sockets (the client holds RUNS of them).
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const refusals = new Map<string, number>();
  const ends: Array<Promise<void>> = [];
  let firstEnd = 0;
  let lastEnd = 0;
  let ended = 0;
  /** Opens one stream; resolves true once it has started (200 and headers), false if refused. */
  const open = (held: boolean) =>
    new Promise<boolean>((resolve) => {
      const req = http.request(`${s.url}${path}`, { method: 'POST', headers, agent }, (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d;
          });
          res.on('end', () => {
            let message = text.slice(0, 80);
            try {
              message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
            } catch {}
            const k = `${res.statusCode} ${message}`;
            refusals.set(k, (refusals.get(k) ?? 0) + 1);
            resolve(false);
          });
          return;
        }
        if (!held) {
          req.destroy();
          resolve(true);
          return;
        }
        res.resume();
        ends.push(
          new Promise<void>((done) => {
            let done1 = false;
            // 'end', 'error' and 'close' may all fire for one stream: it ends once.
            const finish = () => {
              if (done1) return;
              done1 = true;
              const now = performance.now();
              if (!firstEnd) firstEnd = now;
              lastEnd = now;
              ended++;
              done();
            };
            res.once('end', finish);
            res.once('error', finish);
            res.once('close', finish);
          }),
        );
        resolve(true);
      });
      req.on('error', (e) => {
        const k = `socket ${(e as NodeJS.ErrnoException).code ?? e.message}`;
        refusals.set(k, (refusals.get(k) ?? 0) + 1);
        resolve(false);
      });
      req.end(body);
    });

  // A few streams opened and dropped first: the first requests load code and fill caches.
  await Promise.all(Array.from({ length: 20 }, () => open(false)));
  await new Promise((r) => setTimeout(r, 1000));
  refusals.clear();

  // /health/live from the client every ~100 ms, its max latency per phase, until told to stop.
  const liveAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  type Phase = 'opening' | 'plateau' | 'ending';
  let phase = 'opening' as Phase;
  const liveMax = { opening: 0, plateau: 0, ending: 0 };
  let polling = true;
  const poll = (async () => {
    const stopAt = performance.now() + END_BOUND_MS + 600_000;
    while (polling && performance.now() < stopAt) {
      const t0 = performance.now();
      const at: Phase = phase;
      const probesAt = probes;
      await new Promise<void>((r) => {
        const req = http.get(`${s.url}/health/live`, { agent: liveAgent }, (res) => {
          res.resume();
          res.on('end', r);
        });
        req.on('error', () => r());
        req.setTimeout(30_000, () => req.destroy());
      });
      const ms = performance.now() - t0;
      // A request that spanned phases counts in the later one; one beside a heap probe in none.
      if (probesAt === probes && probes % 2 === 0) {
        liveMax[phase] = Math.max(liveMax[phase], ms);
        if (at !== phase) liveMax[at] = Math.max(liveMax[at], ms);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - ms)));
    }
  })();

  const heap0 = await heap();
  const rss0 = rss();
  const cpu0 = cpuMs(pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  let opened = 0;
  for (let i = 0; i < RUNS; i += BATCH) {
    const n = Math.min(BATCH, RUNS - i);
    opened += (await Promise.all(Array.from({ length: n }, () => open(true)))).filter(Boolean).length;
  }
  const openMs = performance.now() - t0;
  const cpuOpen = cpuMs(pid) - cpu0;
  const client = process.cpuUsage(client0);
  phase = 'plateau';
  const heap1 = await heap();
  const rss1 = rss();
  // The plateau lasts until the first stream ends; the ending until the last one has.
  const watchEnd = setInterval(() => {
    if (firstEnd && phase === 'plateau') phase = 'ending';
  }, 20);
  await Promise.race([
    Promise.all(ends),
    new Promise((r) => setTimeout(r, END_BOUND_MS - (performance.now() - t0)).unref()),
  ]);
  clearInterval(watchEnd);
  const cpuLife = cpuMs(pid) - cpu0;
  polling = false;
  await poll;
  liveAgent.destroy();
  agent.destroy();
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('exit', r));
  const per = (x: number) => (opened ? r3(x / opened) : null);
  return {
    server: role,
    runs: RUNS,
    opened,
    refused: RUNS - opened,
    refusals: [...refusals].map(([k, v]) => `${v}× ${k}`).join('; '),
    unfinished: opened - ended,
    opened_per_s: Math.round(opened / (openMs / 1000)),
    live_max_ms_opening: Math.round(liveMax.opening),
    live_max_ms_plateau: Math.round(liveMax.plateau),
    live_max_ms_ending: Math.round(liveMax.ending),
    ending_s: firstEnd ? r3((lastEnd - firstEnd) / 1000) : null,
    heap_kb_per_run: per((heap1 - heap0) / 1000),
    rss_kb_per_run: per((rss1 - rss0) / 1000),
    cpu_open_ms_per_run: per(cpuOpen),
    cpu_life_ms_per_run: per(cpuLife),
    client_cpu_pct_opening: Math.round(((client.user + client.system) / 1000 / openMs) * 100),
  };
}
