/**
 * Chat runtime benchmark, with the mock model at zero delay so everything measured is Agentry's own.
 *
 * 1. Overhead per turn (sequential, one at a time), against the model call alone as the peer:
 *    - in process: `models.complete` (peer) vs a whole chat turn through the runtime (begin, history,
 *      loop, persistence of messages, step and events), on a new session and on a continuing one,
 *      and a tool turn (two model calls, one calculator call, one persisted round);
 *    - over HTTP: POST /v1/chat/completions (peer) vs POST /v1/agents/:id/chat with stream:false,
 *      and with streaming: time to the first event and to `[DONE]`.
 * 2. Open streams: a server process holds a ramp of concurrent streaming chats (up to 5,000) whose
 *    model never answers (a long mock delay); at each step its RSS and event-loop delay, against a
 *    bare Fastify process holding the same number of plain SSE connections (the peer).
 *
 *   node --import tsx bench/chat.ts [--turns 2000] [--streams 5000] [--quick]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres adds the PostgreSQL rows of part 1.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchApp, counted, countStatements, quantile, r3, tsLoaderArgs } from './bench-app.ts';

const self = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- part 1: overhead per turn

interface Row {
  scenario: string;
  store: string;
  n: number;
  p50_ms: number;
  p99_ms: number;
  overhead_p50_ms?: number;
  /** Store statements per operation (background flushes included, amortised): noise-free. */
  statements?: number;
}

/** Store statements per operation of the last `time` run, for the row that reports it. */
let lastPerOp = 0;

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  const before = counted.statements;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  lastPerOp = (counted.statements - before) / n;
  return out;
}

async function overhead(store: 'pglite' | 'postgres', turns: number): Promise<Row[]> {
  const { app, close } = await benchApp(store);
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  const key = app.adminKey!;
  const { runtime, models, agents } = app.services;
  countStatements(app.services.db as never);
  const tenantId = app.defaultTenantId;
  const caller = { tenantId, tenantName: 'default' };
  const actor = { tenantId, actor: 'bench' };
  const plain = await agents.create(
    tenantId,
    { name: 'bench-plain', system_prompt: 'You are terse.' },
    actor,
  );
  const tooled = await agents.create(
    tenantId,
    { name: 'bench-tools', system_prompt: 'You are terse.', tools: ['calculator'] },
    actor,
  );
  const rows: Row[] = [];
  const add = (scenario: string, xs: number[], peer?: number[]) => {
    const row: Row = {
      scenario,
      store,
      n: xs.length,
      p50_ms: r3(quantile(xs, 0.5)),
      p99_ms: r3(quantile(xs, 0.99)),
    };
    if (peer) row.overhead_p50_ms = r3(quantile(xs, 0.5) - quantile(peer, 0.5));
    row.statements = r3(lastPerOp);
    rows.push(row);
  };
  const turn = async (agentId: string, message: string, sessionId?: string) => {
    const h = await runtime.run(caller, agentId, {
      message,
      session_id: sessionId,
      stream: false,
      multitask: 'reject',
      on_disconnect: 'continue',
    });
    const r = await h.result();
    if (r.status !== 'completed') throw new Error(`turn ${r.status}`);
    return h.sessionId;
  };
  const request = {
    model: 'mock/default',
    messages: [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'hello there' },
    ],
  };
  const warm = Math.min(200, Math.ceil(turns / 5));
  process.stderr.write(`${store}: warming up…\n`);
  await time(warm, () => models.complete(request, caller));
  await time(warm, () => turn(plain.id, 'hello there'));

  process.stderr.write(`${store}: ${turns} turns per scenario…\n`);
  const peer = await time(turns, () => models.complete(request, caller));
  add('model call alone (peer)', peer);
  add('chat turn, new session', await time(turns, () => turn(plain.id, 'hello there')), peer);
  let session: string | undefined;
  add(
    'chat turn, continuing session (≤20 turns)',
    await time(turns, async (i) => {
      session = await turn(plain.id, 'hello there', i % 20 === 0 ? undefined : session);
    }),
    peer,
  );
  const toolPeer = await time(Math.ceil(turns / 2), async () => {
    await models.complete(
      {
        ...request,
        messages: [
          ...request.messages.slice(0, 1),
          { role: 'user', content: 'use the calculator tool: 2+2' },
        ],
      },
      caller,
    );
    await models.complete(request, caller);
  });
  add('two model calls alone (peer)', toolPeer);
  add(
    'tool turn: 2 model calls + calculator',
    await time(Math.ceil(turns / 2), () => turn(tooled.id, 'use the calculator tool: 2+2')),
    toolPeer,
  );

  // Over HTTP, from this process (the client shares the event loop, as both sides do alike).
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const httpN = Math.ceil(turns / 2);
  await time(warm, () => post('/v1/chat/completions', request).then((r) => r.text()));
  const httpPeer = await time(httpN, () => post('/v1/chat/completions', request).then((r) => r.text()));
  add('HTTP /v1/chat/completions (peer)', httpPeer);
  add(
    'HTTP chat, stream:false',
    await time(httpN, () =>
      post(`/v1/agents/${plain.id}/chat`, { message: 'hello there', stream: false }).then((r) => r.text()),
    ),
    httpPeer,
  );
  const first: number[] = [];
  const whole = await time(httpN, async () => {
    const t0 = performance.now();
    const res = await post(`/v1/agents/${plain.id}/chat`, { message: 'hello there' });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let sawFirst = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (!sawFirst && text.includes('\nid: ')) {
        sawFirst = true;
        first.push(performance.now() - t0);
      }
      if (text.includes('data: [DONE]')) break;
    }
    await reader.cancel().catch(() => {});
  });
  add('HTTP chat streaming: first event', first, httpPeer);
  add('HTTP chat streaming: [DONE]', whole, httpPeer);

  await close();
  return rows;
}

// ---------------------------------------------------------------- part 2: open streams

interface Stats {
  rss_mib: number;
  heap_mib: number;
  eld_p50_ms: number;
  eld_p99_ms: number;
  eld_max_ms: number;
}

/** Child side: a server that holds streams, answering `stats` messages with RSS and event-loop delay. */
async function serveHold(kind: 'agentry' | 'bare'): Promise<void> {
  // 1 ms sampling: the figures read as 1 ms plus the real delay.
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  let url: string;
  let key = '';
  let agentId = '';
  if (kind === 'bare') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    // The peer: plain SSE connections with a first event and heartbeats, nothing behind them.
    app.post('/hold', async (req, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
      reply.raw.write('id: 1\nevent: session_start\ndata: {}\n\n');
      const beat = setInterval(() => reply.raw.write(': keep-alive\n\n'), 15_000);
      req.raw.on('close', () => clearInterval(beat));
    });
    url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/hold`;
  } else {
    const { app } = await benchApp('pglite', {
      // The model never answers within the benchmark: every stream stays open, its run running.
      models: { mock: { first_chunk_delay_ms: 3_600_000 } },
    });
    const base = await app.http.listen({ host: '127.0.0.1', port: 0 });
    key = app.adminKey!;
    const agent = await app.services.agents.create(
      app.defaultTenantId,
      { name: 'holder' },
      { tenantId: app.defaultTenantId, actor: 'bench' },
    );
    agentId = agent.id;
    url = `${base}/v1/agents/${agentId}/chat`;
  }
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'stats') return;
    const mem = process.memoryUsage();
    const stats: Stats = {
      rss_mib: Math.round(mem.rss / 2 ** 20),
      heap_mib: Math.round(mem.heapUsed / 2 ** 20),
      eld_p50_ms: r3(eld.percentile(50) / 1e6),
      eld_p99_ms: r3(eld.percentile(99) / 1e6),
      eld_max_ms: r3(eld.max / 1e6),
    };
    eld.reset();
    process.send?.({ type: 'stats', stats });
  });
  eld.reset(); // start-up (migrations, warm-up) is not what the ramp measures
  process.send?.({ type: 'ready', url, key });
}

async function startHolder(kind: 'agentry' | 'bare') {
  const child = fork(self, ['--hold', kind], { execArgv: tsLoaderArgs, stdio: 'inherit' });
  const [msg] = (await once(child, 'message')) as [{ url: string; key: string }];
  const stats = async (): Promise<Stats> => {
    child.send({ type: 'stats' });
    for (;;) {
      const [m] = (await once(child, 'message')) as [{ type: string; stats: Stats }];
      if (m.type === 'stats') return m.stats;
    }
  };
  return { child, url: msg.url, key: msg.key, stats };
}

/** Opens one streaming chat and resolves once its first event arrived; the connection stays open. */
function openStream(target: string, key: string, held: http.ClientRequest[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(target, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
      res.on('data', (chunk: Buffer) => {
        if (chunk.includes('id: ')) resolve();
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify({ message: 'hold on' }));
    held.push(req);
  });
}

async function ramp(kind: 'agentry' | 'bare', steps: number[]) {
  const holder = await startHolder(kind);
  const held: http.ClientRequest[] = [];
  const rows: Array<Record<string, unknown>> = [];
  const base = await holder.stats();
  rows.push({ server: kind, streams: 0, ...base });
  for (const target of steps) {
    const t0 = performance.now();
    while (held.length < target) {
      const batch = Math.min(100, target - held.length);
      await Promise.all(Array.from({ length: batch }, () => openStream(holder.url, holder.key, held)));
    }
    const openMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1000));
    await holder.stats(); // reset the delay histogram: measure the second of holding only
    await new Promise((r) => setTimeout(r, 1000));
    const s = await holder.stats();
    rows.push({ server: kind, streams: held.length, ...s, open_ms: Math.round(openMs) });
    process.stderr.write(`${kind}: ${held.length} streams, rss ${s.rss_mib} MiB\n`);
  }
  for (const r of held) r.destroy();
  holder.child.kill();
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hold: { type: 'string' },
      turns: { type: 'string', default: '2000' },
      streams: { type: 'string', default: '5000' },
      quick: { type: 'boolean', default: false },
    },
  });
  if (values.hold) return serveHold(values.hold as 'agentry' | 'bare');
  const turns = values.quick ? 200 : Number(values.turns);
  const max = values.quick ? 500 : Number(values.streams);
  const steps = values.quick ? [100, 250, 500] : [500, 1000, 2000, 3000, 4000, 5000].filter((n) => n <= max);

  const rows: Row[] = [];
  for (const store of process.env.DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)) {
    rows.push(...(await overhead(store, turns)));
  }
  console.table(rows);

  const streamRows = [...(await ramp('bare', steps)), ...(await ramp('agentry', steps))];
  const bareBy = new Map(
    streamRows.filter((r) => r.server === 'bare').map((r) => [r.streams, r.rss_mib as number]),
  );
  const table = streamRows.map((r) => ({
    ...r,
    'rss vs bare':
      r.server === 'agentry' ? `${((r.rss_mib as number) / bareBy.get(r.streams)!).toFixed(2)}x` : '',
  }));
  console.table(table);
  const agentryMax = streamRows.filter((r) => r.server === 'agentry').at(-1)!;
  const turnRow = rows.find((r) => r.scenario === 'chat turn, new session' && r.store === 'pglite')!;
  console.log(
    JSON.stringify({
      bench: 'chat',
      turns,
      overhead: rows,
      streams: table,
      targets: {
        overhead_p50_ms: { target: 5, pglite_new_session: turnRow.overhead_p50_ms },
        rss_mib_at_max: { target: 1024, streams: agentryMax.streams, rss_mib: agentryMax.rss_mib },
      },
    }),
  );
  process.exit(0);
}

await main();
