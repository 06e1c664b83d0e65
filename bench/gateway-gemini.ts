/**
 * What the Gemini mapping costs: the same chat call (a system prompt, a user message, one tool;
 * answered with ten words and usage) through Agentry to an OpenAI-compatible upstream and to a
 * Gemini upstream (generateContent, streamGenerateContent?alt=sse), both fakes answering at once
 * from one child process. Sequential calls, whole and streamed, the two in alternating blocks; CPU ms per request of Agentry's
 * process and its latency, and the Gemini rows' ratio to the OpenAI ones (the translation cost).
 *
 *   node --import tsx bench/gateway-gemini.ts [--requests 2000]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { cpuMs, forkChild, quantile, r3, serveBenchApp } from './bench-app.ts';

const words = Array.from({ length: 10 }, (_, i) => `word${i} `);

/** Both vendors' answers, rendered once. */
function serveUpstream(): void {
  const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
  const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
  const oaChunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const oaStream =
    words.map((w) => oaChunk({ content: w }, null)).join('') +
    `${oaChunk({}, 'stop')}data: ${JSON.stringify({ ...base, choices: [], usage })}\n\ndata: [DONE]\n\n`;
  const oaWhole = JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' }],
    usage,
  });
  const gUsage = { promptTokenCount: 12, candidatesTokenCount: 10, totalTokenCount: 22 };
  const gChunk = (text: string, last: boolean) =>
    `data: ${JSON.stringify({
      candidates: [
        { content: { parts: [{ text }], role: 'model' }, ...(last && { finishReason: 'STOP' }), index: 0 },
      ],
      ...(last && { usageMetadata: gUsage }),
      modelVersion: 'm',
      responseId: 'r1',
    })}\r\n\r\n`;
  const gStream = words.map((w, i) => gChunk(w, i === words.length - 1)).join('');
  const gWhole = JSON.stringify({
    candidates: [
      { content: { parts: [{ text: words.join('') }], role: 'model' }, finishReason: 'STOP', index: 0 },
    ],
    usageMetadata: gUsage,
    modelVersion: 'm',
    responseId: 'r1',
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.includes(':streamGenerateContent'))
        return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(gStream);
      if (url.includes(':generateContent'))
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(gWhole);
      // The OpenAI path: streamed unless the body says otherwise (the bench asks per row).
      if (req.headers.accept === 'text/event-stream')
        return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(oaStream);
      res.writeHead(200, { 'content-type': 'application/json' }).end(oaWhole);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
}

async function serveAgentry(upstream: string): Promise<void> {
  process.env.BENCH_GEMINI_KEY = 'bench-key';
  await serveBenchApp('pglite', {
    models: {
      providers: {
        oa: { type: 'openai', base_url: `${upstream}/v1` },
        gem: { type: 'gemini', base_url: `${upstream}/v1beta`, api_key_env: 'BENCH_GEMINI_KEY' },
      },
    },
  });
}

const tool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

async function main(requests: number): Promise<void> {
  const up = await forkChild<{ url: string }>(import.meta.url, ['--role', 'upstream']);
  const agentry = await forkChild<{ url: string; key: string }>(import.meta.url, [
    '--role',
    'agentry',
    '--upstream',
    up.url,
  ]);
  const pool = new Pool(agentry.url, { connections: 4 });
  const call = async (model: string, stream: boolean) => {
    const res = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${agentry.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        stream,
        tools: [tool],
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Say ten words.' },
        ],
      }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${model}: ${res.statusCode} ${text.slice(0, 200)}`);
  };
  const rows: Array<{ row: string; cpu_ms: number; p50_ms: number; p99_ms: number }> = [];
  const models = ['oa/m', 'gem/m'];
  for (const stream of [false, true]) {
    for (const model of models) for (let i = 0; i < 200; i++) await call(model, stream); // warm-up
    // The two models in alternating blocks, so a neighbour's load falls on both alike.
    const cpu = new Map(models.map((m) => [m, 0]));
    const times = new Map<string, number[]>(models.map((m) => [m, []]));
    for (let block = 0; block < 8; block++) {
      for (const model of models) {
        const cpu0 = cpuMs(agentry.child.pid);
        for (let i = 0; i < requests / 8; i++) {
          const t0 = performance.now();
          await call(model, stream);
          times.get(model)!.push(performance.now() - t0);
        }
        cpu.set(model, cpu.get(model)! + cpuMs(agentry.child.pid) - cpu0);
      }
    }
    for (const model of models) {
      rows.push({
        row: `${model.startsWith('gem') ? 'gemini' : 'openai'} ${stream ? 'streamed' : 'whole'}`,
        cpu_ms: r3(cpu.get(model)! / times.get(model)!.length),
        p50_ms: r3(quantile(times.get(model)!, 0.5)),
        p99_ms: r3(quantile(times.get(model)!, 0.99)),
      });
    }
  }
  await pool.close();
  agentry.child.kill('SIGTERM');
  up.child.kill('SIGTERM');
  console.log('row               cpu ms/req   p50 ms   p99 ms');
  for (const r of rows)
    console.log(
      `${r.row.padEnd(18)}${String(r.cpu_ms).padStart(10)}${String(r.p50_ms).padStart(9)}${String(r.p99_ms).padStart(9)}`,
    );
  const ratio = (a: string, b: string) =>
    r3(rows.find((r) => r.row === a)!.cpu_ms / rows.find((r) => r.row === b)!.cpu_ms);
  const ratios = {
    whole_cpu: ratio('gemini whole', 'openai whole'),
    streamed_cpu: ratio('gemini streamed', 'openai streamed'),
  };
  console.log(`gemini/openai CPU per request: whole ${ratios.whole_cpu}, streamed ${ratios.streamed_cpu}`);
  console.log(JSON.stringify({ bench: 'gateway-gemini', requests, rows, ratios }));
}

const { values } = parseArgs({
  options: { role: { type: 'string' }, upstream: { type: 'string' }, requests: { type: 'string' } },
});
if (values.role === 'upstream') serveUpstream();
else if (values.role === 'agentry') await serveAgentry(String(values.upstream));
else await main(Number(values.requests ?? 2000));
