/**
 * Tracing overhead: the chat turn (POST /v1/agents/:id/chat, stream:false, one calculator tool
 * call, mock model at zero delay) with OpenTelemetry off against the same turn with every span
 * exported over OTLP/HTTP to a local sink, in the same run. The two servers run in processes of
 * their own (the SDK is process-wide) and are measured in turns, round after round, so drift in
 * the machine's load weighs on both alike. Prints a table and a JSON line with the p50 ratio
 * (goal: ≤ 1.10). With `--store postgres` (DATABASE_URL) the PostgreSQL client spans are made too,
 * and with them the AsyncLocalStorage context manager they need.
 *
 *   node --import tsx bench/tracing.ts [--turns 300] [--rounds 3] [--store pglite|postgres]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchApp, closeOnTerm, quantile, r3, tsLoaderArgs } from './bench-app.ts';

const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    turns: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    serve: { type: 'boolean', default: false },
    store: { type: 'string', default: 'pglite' },
  },
});

if (values.serve) {
  // A server process: tracing is on when the parent set the OTEL_* variables.
  const { app, close } = await benchApp(values.store === 'postgres' ? 'postgres' : 'pglite');
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  closeOnTerm(close);
  process.send!({ url, key: app.adminKey });
} else {
  await main();
}

async function main() {
  const turns = Number(values.turns);
  const rounds = Number(values.rounds);
  // The local sink: accepts every export and counts the bytes, like a collector that keeps up.
  let exported = 0;
  const sink = http.createServer((req, res) => {
    req.on('data', (d: Buffer) => {
      exported += d.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;

  const start = async (env: Record<string, string>) => {
    const child = fork(self, ['--serve', '--store', values.store], {
      execArgv: tsLoaderArgs,
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    const [msg] = (await once(child, 'message')) as [{ url: string; key: string }];
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${msg.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${msg.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
      return json as { id: string };
    };
    const agent = await post('/v1/agents', { name: 'bench', tools: ['calculator'] });
    const turn = () =>
      post(`/v1/agents/${agent.id}/chat`, { message: 'use the calculator tool on 6 * 7', stream: false });
    for (let i = 0; i < 30; i++) await turn(); // warm-up
    return { child, turn };
  };
  const off = await start({});
  const on = await start({
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_SERVICE_NAME: 'agentry-bench',
  });
  const samples = { off: [] as number[], on: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const [name, server] of [
      ['off', off],
      ['on', on],
    ] as const) {
      for (let i = 0; i < turns; i++) {
        const t0 = performance.now();
        await server.turn();
        samples[name].push(performance.now() - t0);
      }
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
  for (const s of [off, on]) {
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
  }
  sink.close();
  const row = (name: 'off' | 'on') => ({
    tracing: name === 'off' ? 'off' : 'exported (OTLP http/protobuf to a local sink)',
    n: samples[name].length,
    p50_ms: r3(quantile(samples[name], 0.5)),
    p99_ms: r3(quantile(samples[name], 0.99)),
  });
  const rows = [row('off'), row('on')];
  console.table(rows);
  const ratio = { p50: r3(rows[1]!.p50_ms / rows[0]!.p50_ms), p99: r3(rows[1]!.p99_ms / rows[0]!.p99_ms) };
  console.log(`p50 ratio ${ratio.p50} (goal ≤ 1.10), p99 ratio ${ratio.p99}; ${exported} bytes exported`);
  console.log(
    JSON.stringify({ bench: 'tracing', store: values.store, rows, ratio, exported_bytes: exported }),
  );
}
