/**
 * What a Bedrock call costs the gateway against the OpenAI-compatible path: one Agentry process
 * with two providers, `oai` (type openai) and `br` (type bedrock, through the AWS SDK: SigV4
 * signing, its middleware stack, event-stream decoding), each in front of a loopback fake that
 * answers at once with the same ten words and usage (OpenAI's JSON and SSE; Bedrock's JSON and
 * `application/vnd.amazon.eventstream` frames). A closed loop of `--concurrency` callers sends
 * `--requests` chat completions per row, whole and streamed, through /v1/chat/completions; the
 * figure is the gateway process's CPU ms per request (user + system, from /proc), and the ratio
 * bedrock / openai is the translation's cost. Latency is printed too, but on a shared machine CPU
 * per request is the figure noise moves least.
 *
 *   node --import tsx bench/bedrock.ts [--requests 2000] [--concurrency 16]
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { Pool } from 'undici';
import { cpuMs, forkChild, quantile, r3, serveBenchApp } from './bench-app.ts';

const words = Array.from({ length: 10 }, (_, i) => `word${i} `);
const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };

/** Both fakes in one process, every answer rendered once: `/v1/…` is OpenAI's, `/model/…` Bedrock's. */
function serveUpstreams(): void {
  const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const oaiStream =
    words.map((w, i) => chunk(i === 0 ? { role: 'assistant', content: w } : { content: w }, null)).join('') +
    `${chunk({}, 'stop')}data: ${JSON.stringify({ ...base, choices: [], usage })}\n\ndata: [DONE]\n\n`;
  const message = { role: 'assistant', content: words.join('') };
  const oaiWhole = JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message, finish_reason: 'stop' }],
    usage,
  });
  const brUsage = { inputTokens: 12, outputTokens: 10, totalTokens: 22 };
  const brWhole = JSON.stringify({
    output: { message: { role: 'assistant', content: [{ text: words.join('') }] } },
    stopReason: 'end_turn',
    usage: brUsage,
    metrics: { latencyMs: 1 },
  });
  const codec = new EventStreamCodec(
    (b) => Buffer.from(b).toString('utf8'),
    (s) => Buffer.from(s),
  );
  const frame = (type: string, payload: object) =>
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: Buffer.from(JSON.stringify({ ...payload, p: 'abcdef' })),
    });
  const brStream = Buffer.concat([
    frame('messageStart', { role: 'assistant' }),
    ...words.map((w) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: w } })),
    frame('contentBlockStop', { contentBlockIndex: 0 }),
    frame('messageStop', { stopReason: 'end_turn' }),
    frame('metadata', { usage: brUsage, metrics: { latencyMs: 1 } }),
  ]);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.endsWith('/converse-stream')) {
        res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' }).end(brStream);
      } else if (url.endsWith('/converse')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(brWhole);
      } else if (body.includes('"stream":true')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(oaiStream);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(oaiWhole);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
}

async function serveAgentry(upstream: string): Promise<void> {
  const store = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  await serveBenchApp(store, {
    models: {
      providers: {
        oai: { type: 'openai', base_url: `${upstream}/v1` },
        br: { type: 'bedrock', base_url: upstream, region: 'us-east-1' },
      },
    },
  });
}

interface Row {
  provider: 'openai' | 'bedrock';
  mode: 'whole' | 'stream';
  cpu_ms_per_req: number;
  p50_ms: number;
  p99_ms: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const children: ChildProcess[] = [];
  try {
    const up = await forkChild<{ url: string }>(import.meta.url, ['--role', 'upstream']);
    children.push(up.child);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // Static test credentials, read by the AWS SDK's chain as an operator's would be.
      AWS_ACCESS_KEY_ID: 'AKIDBENCH0000000000',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_REGION: 'us-east-1',
    };
    delete env.AWS_PROFILE;
    delete env.AWS_SESSION_TOKEN;
    const gw = await forkChild<{ url: string; key: string }>(
      import.meta.url,
      ['--role', 'agentry', '--upstream', up.url],
      { env },
    );
    children.push(gw.child);
    const pool = new Pool(gw.url, { connections: concurrency, keepAliveTimeout: 60_000 });
    const call = async (model: string, stream: boolean): Promise<number> => {
      const started = performance.now();
      const res = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: {
          authorization: `Bearer ${gw.key}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ model, stream, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200 || !text.includes('word9'))
        throw new Error(`${model}: ${res.statusCode} ${text}`);
      return performance.now() - started;
    };
    const round = async (model: string, stream: boolean, n: number) => {
      const times: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < n) {
            next += 1;
            times.push(await call(model, stream));
          }
        }),
      );
      return times;
    };
    const rows: Row[] = [];
    for (const mode of ['whole', 'stream'] as const) {
      for (const [provider, model] of [
        ['openai', 'oai/m'],
        ['bedrock', 'br/anthropic.claude-3-5-sonnet-20240620-v1:0'],
      ] as const) {
        await round(model, mode === 'stream', Math.min(300, requests)); // warm-up: JIT, sockets, the SDK
        const before = cpuMs(gw.child.pid);
        const times = await round(model, mode === 'stream', requests);
        const cpu = (cpuMs(gw.child.pid) - before) / requests;
        rows.push({
          provider,
          mode,
          cpu_ms_per_req: r3(cpu),
          p50_ms: r3(quantile(times, 0.5)),
          p99_ms: r3(quantile(times, 0.99)),
        });
        process.stderr.write(`${provider} ${mode}: ${r3(cpu)} CPU ms/req\n`);
      }
    }
    await pool.close();
    console.table(rows);
    const cpuOf = (p: Row['provider'], m: Row['mode']) => rows.find((r) => r.provider === p && r.mode === m)!;
    const ratios = {
      whole_cpu_bedrock_vs_openai: r3(
        cpuOf('bedrock', 'whole').cpu_ms_per_req / cpuOf('openai', 'whole').cpu_ms_per_req,
      ),
      stream_cpu_bedrock_vs_openai: r3(
        cpuOf('bedrock', 'stream').cpu_ms_per_req / cpuOf('openai', 'stream').cpu_ms_per_req,
      ),
    };
    console.log(JSON.stringify({ bench: 'bedrock', requests, concurrency, rows, ratios }));
  } finally {
    for (const child of children) child.kill('SIGTERM');
  }
}

const { values: role } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' } },
  strict: false,
});
if (role.role === 'upstream') serveUpstreams();
else if (role.role === 'agentry') await serveAgentry(String(role.upstream));
else await main();
