/**
 * Tracing overhead: a chat turn (stream:false, one calculator call, mock model at zero delay) with
 * OpenTelemetry off against the same turn with every span exported over OTLP/HTTP to a local sink.
 * The servers run in processes of their own (the SDK is process-wide) and are measured in turns,
 * round after round, so drift weighs on both alike. Goal: p50 on / off ≤ 1.10. With `--store
 * postgres` (DATABASE_URL) the PostgreSQL client spans, and the async context they need, are on too.
 *
 *   node --import tsx bench/tracing.ts [--quick] [--turns 300] [--rounds 3] [--store pglite|postgres]
 */
import { once } from 'node:events';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { forkChild, quantile, r3, serveBenchApp, timeEach } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    turns: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
    store: { type: 'string', default: 'pglite' },
  },
});

if (values.serve) {
  // Tracing is on when the parent set the OTEL_* variables.
  await serveBenchApp(values.store === 'postgres' ? 'postgres' : 'pglite');
} else {
  // The sink accepts every export and counts its bytes, like a collector that keeps up.
  let exported = 0;
  const sink = http.createServer((req, res) => {
    req.on('data', (d: Buffer) => {
      exported += d.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const start = async (env: Record<string, string>) => {
    const s = await forkChild<{ url: string; key: string }>(
      import.meta.url,
      ['--serve', '--store', values.store],
      { env: { ...process.env, ...env } },
    );
    const post = async (path: string, body: unknown) => {
      const headers = { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' };
      const res = await fetch(`${s.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const json = await res.json();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
      return json as { id: string };
    };
    const agent = await post('/v1/agents', { name: 'bench', tools: ['calculator'] });
    const turn = () =>
      post(`/v1/agents/${agent.id}/chat`, { message: 'use the calculator tool on 6 * 7', stream: false });
    await timeEach(30, turn); // warm-up
    return { child: s.child, turn };
  };
  const off = await start({});
  const on = await start({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as { port: number }).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_SERVICE_NAME: 'agentry-bench',
  });
  const samples = { off: [] as number[], on: [] as number[] };
  const turns = Number(values.turns ?? (values.quick ? 50 : 300));
  for (let r = 0; r < Number(values.rounds ?? (values.quick ? 2 : 3)); r++) {
    samples.off.push(...(await timeEach(turns, off.turn)));
    samples.on.push(...(await timeEach(turns, on.turn)));
  }
  for (const s of [off, on]) {
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
  }
  sink.close();
  const rows = (['off', 'on'] as const).map((name) => ({
    tracing: name === 'off' ? 'off' : 'exported (OTLP http/protobuf to a local sink)',
    n: samples[name].length,
    p50_ms: r3(quantile(samples[name], 0.5)),
    p99_ms: r3(quantile(samples[name], 0.99)),
  }));
  console.table(rows);
  const ratio = { p50: r3(rows[1]!.p50_ms / rows[0]!.p50_ms), p99: r3(rows[1]!.p99_ms / rows[0]!.p99_ms) };
  console.log(`p50 ratio ${ratio.p50} (goal ≤ 1.10), p99 ratio ${ratio.p99}; ${exported} bytes exported`);
  console.log(
    JSON.stringify({
      bench: 'tracing',
      store: values.store,
      rows,
      ratios: { [`p50_on_vs_off_${values.store}`]: ratio.p50, [`p99_on_vs_off_${values.store}`]: ratio.p99 },
      exported_bytes: exported,
    }),
  );
}
