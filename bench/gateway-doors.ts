/**
 * The model front doors side by side: the latency /v1/responses and /v1/messages add in front of an
 * OpenAI-compatible upstream, against /v1/chat/completions' on the same Agentry process and the same
 * fake upstream (answering at once, so the doors' own work is what is measured), in one run. Open
 * loop at a fixed rate, each request timed from when it was due; streamed ones to the first content
 * event. added = door p50 − direct p50 measured just before; the ratio is door ÷ chat completions
 * (target ≤ 1.2). /v1/responses keeps each response (`store`, its default) unless the row says not.
 *
 *   node --import tsx bench/gateway-doors.ts [--seconds 3] [--rate 500]
 *   DATABASE_URL / REDIS_URL put Agentry on PostgreSQL / Redis; PGlite otherwise.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { cpuMs, forkChild, quantile, r3, serveBenchApp } from './bench-app.ts';

/** The fake upstream: Chat Completions, ten words, whole or streamed, at once. */
function serveUpstream(): void {
  const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const words = Array.from({ length: 10 }, (_, i) => `word${i} `);
  const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
  const stream =
    words.map((w, i) => chunk(i === 0 ? { role: 'assistant', content: w } : { content: w }, null)).join('') +
    `${chunk({}, 'stop')}data: ${JSON.stringify({ ...base, choices: [], usage })}\n\ndata: [DONE]\n\n`;
  const message = { role: 'assistant', content: words.join('') };
  const whole = JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message, finish_reason: 'stop' }],
    usage,
  });
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (body.includes('"stream":true'))
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(stream);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(whole);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
}

async function serveAgentry(upstream: string): Promise<void> {
  const { tenantsFileSchema } = await import('../src/config/tenant-policy.ts');
  const huge = { requests_per_minute: 1e9 };
  const policy = {
    budgets: { tokens_per_day: 1e12, cost_per_month: 1e9 },
    rate_limits: { ...huge, tokens_per_minute: 1e12, per_key: huge },
  };
  // AGENTRY_PGLITE_THREAD=true: the embedded store in its own thread, as it turns it on for a server.
  const thread = process.env.AGENTRY_PGLITE_THREAD === 'true';
  const store = process.env.DATABASE_URL ? 'postgres' : thread ? 'pglite-thread' : 'pglite';
  await serveBenchApp(
    store,
    {
      redis_url: process.env.REDIS_URL,
      models: {
        providers: { up: { type: 'openai', base_url: `${upstream}/v1` } },
        prices: { 'up/m': { input: 1, output: 2 } },
      },
    },
    (app) => app.services.policies.set(tenantsFileSchema.parse({ tenants: { default: policy } })),
  );
}

interface Door {
  name: string;
  path: string;
  body: (stream: boolean) => string;
  /** The first content of a streamed answer, as the door writes it. */
  firstContent: RegExp;
}

const ask = 'Say ten words.';
const doors: Door[] = [
  {
    name: 'chat_completions',
    path: '/v1/chat/completions',
    body: (stream) =>
      JSON.stringify({ model: 'up/m', max_tokens: 16, messages: [{ role: 'user', content: ask }], stream }),
    firstContent: /"delta":\{[^}]*"content":"[^"]/,
  },
  {
    name: 'responses',
    path: '/v1/responses',
    body: (stream) => JSON.stringify({ model: 'up/m', max_output_tokens: 16, input: ask, stream }),
    firstContent: /response\.output_text\.delta/,
  },
  {
    name: 'responses_nostore',
    path: '/v1/responses',
    body: (stream) =>
      JSON.stringify({ model: 'up/m', max_output_tokens: 16, input: ask, stream, store: false }),
    firstContent: /response\.output_text\.delta/,
  },
  {
    name: 'messages',
    path: '/v1/messages',
    body: (stream) =>
      JSON.stringify({ model: 'up/m', max_tokens: 16, messages: [{ role: 'user', content: ask }], stream }),
    firstContent: /"text_delta"/,
  },
];

async function send(pool: Pool, path: string, headers: Record<string, string>, body: string, first?: RegExp) {
  const res = await pool.request({ method: 'POST', path, headers, body });
  let text = '';
  let at = -1;
  for await (const part of res.body) {
    if (first && at < 0) {
      text += part;
      if (first.test(text)) at = performance.now();
    }
  }
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return first ? at : performance.now();
}

/** Open loop at `rate`/s for `seconds`: request i is due at t0 + i/rate and timed from then. */
async function load(
  pool: Pool,
  req: { path: string; headers: Record<string, string>; body: string; first?: RegExp },
  rate: number,
  seconds: number,
  pid?: number,
) {
  const total = Math.floor(rate * seconds);
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now() + 20;
  for (let sent = 0; sent < total; ) {
    for (; sent < total && t0 + (sent * 1000) / rate <= performance.now(); sent++) {
      const due = t0 + (sent * 1000) / rate;
      pending.push(
        send(pool, req.path, req.headers, req.body, req.first).then(
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
    cpu: (cpuMs(pid) - cpu0) / total,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, rate: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 3);
  const rate = Number(values.rate ?? 500);
  const up = await forkChild<{ url: string }>(import.meta.url, ['--role', 'upstream']);
  const agentry = await forkChild<{ url: string; key: string }>(import.meta.url, [
    '--role',
    'agentry',
    '--upstream',
    up.url,
  ]);
  const pool = new Pool(agentry.url, { connections: 2048 });
  const direct = new Pool(up.url, { connections: 2048 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${agentry.key}` };
  const directReq = (stream: boolean) => ({
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: doors[0]!.body(stream),
    ...(stream && { first: doors[0]!.firstContent }),
  });
  const rows: Array<Record<string, string | number | null>> = [];
  try {
    for (const stream of [false, true]) {
      const mode = stream ? 'ttft' : 'total';
      for (const door of doors) {
        const req = {
          path: door.path,
          headers,
          body: door.body(stream),
          ...(stream && { first: door.firstContent }),
        };
        process.stderr.write(`${door.name} ${mode}: warm-up, then ${seconds} s at ${rate}/s\n`);
        await load(pool, req, rate, 1, agentry.child.pid);
        const d = await load(direct, directReq(stream), rate, seconds);
        const r = await load(pool, req, rate, seconds, agentry.child.pid);
        const ok = r.errors === 0;
        rows.push({
          door: door.name,
          mode,
          added_p50: ok ? r3(r.p50 - d.p50) : null,
          added_p99: ok ? r3(r.p99 - d.p99) : null,
          cpu_ms: r3(r.cpu),
          errors: r.errors,
        });
      }
    }
  } finally {
    await pool.close();
    await direct.close();
    agentry.child.kill();
    up.child.kill();
    await once(agentry.child, 'exit');
  }
  const chat = (mode: unknown) => rows.find((r) => r.door === 'chat_completions' && r.mode === mode)!;
  const ratio = (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' ? r3(a / Math.max(0.001, b)) : null;
  for (const r of rows) {
    r.p50_vs_chat = ratio(r.added_p50, chat(r.mode).added_p50);
    r.cpu_vs_chat = ratio(r.cpu_ms, chat(r.mode).cpu_ms);
  }
  console.log(`\nadded ms = door percentile − direct upstream; cpu = Agentry CPU ms/request; ${rate} req/s`);
  console.table(rows);
  const ratios = Object.fromEntries(
    rows
      .filter((r) => r.door !== 'chat_completions')
      .flatMap((r) => [
        [`${r.door}_${r.mode}_p50_vs_chat`, r.p50_vs_chat],
        [`${r.door}_${r.mode}_cpu_vs_chat`, r.cpu_vs_chat],
      ]),
  );
  console.log(JSON.stringify({ bench: 'gateway-doors', seconds, rate, rows, ratios }));
}

const { values: role } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' } },
  strict: false,
});
if (role.role === 'upstream') serveUpstream();
else if (role.role === 'agentry') await serveAgentry(String(role.upstream));
else await main();
