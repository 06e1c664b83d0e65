/**
 * Heap per open event stream: N chat turns streamed (`stream: true`) and held open while the model
 * has not answered (the mock model's first chunk comes after ten minutes), against a bare node:http
 * server holding N `text/event-stream` responses open. Each server in a process of its own; its heap
 * is read after a full GC, before and with the N streams open. Goal: ≤ 3× the bare server's.
 *
 *   node --import tsx bench/sse.ts [--quick] [--streams 500] [--store pglite|postgres]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { chatTarget, forkChild, r3, serveBenchApp } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    streams: { type: 'string' },
    store: { type: 'string', default: 'pglite' },
    serve: { type: 'string' },
  },
});
const STREAMS = Number(values.streams ?? (values.quick ? 200 : 500));

/** In a served child: answers `heap` with the heap used after a full GC. */
function answerHeap(): void {
  process.on('message', (m) => {
    if (m !== 'heap') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ heap: process.memoryUsage().heapUsed });
  });
}

if (values.serve === 'bare') {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': waiting\n\n');
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  answerHeap();
  process.send?.({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
} else if (values.serve) {
  answerHeap();
  await serveBenchApp(values.serve as 'pglite' | 'postgres', {
    models: { mock: { first_chunk_delay_ms: 600_000 } },
  });
} else {
  const rows = [];
  for (const role of ['bare', values.store === 'postgres' ? 'postgres' : 'pglite']) {
    const s = await forkChild<{ url: string; key?: string }>(import.meta.url, ['--serve', role], {
      execArgv: ['--expose-gc'],
    });
    const heap = async () => {
      s.child.send('heap');
      return new Promise<number>((r) => s.child.once('message', (m: { heap: number }) => r(m.heap)));
    };
    const { headers, path } = await chatTarget(s, 'bench-sse', '/');
    const body = JSON.stringify({ message: 'hello there', stream: true });
    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    /** Opens one stream; resolves once its response has started (status and headers). */
    const open = () =>
      new Promise<http.ClientRequest>((resolve, reject) => {
        const req = http.request(`${s.url}${path}`, { method: 'POST', headers, agent }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          res.resume();
          resolve(req);
        });
        req.on('error', reject);
        req.end(body);
      });
    // A few streams opened and closed first: the first requests load code and fill caches.
    for (const r of await Promise.all(Array.from({ length: 20 }, open))) r.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const before = await heap();
    const held: http.ClientRequest[] = [];
    for (let i = 0; i < STREAMS; i += 50) held.push(...(await Promise.all(Array.from({ length: 50 }, open))));
    const after = await heap();
    for (const r of held) r.destroy();
    agent.destroy();
    s.child.kill('SIGTERM');
    await new Promise((r) => s.child.once('exit', r));
    rows.push({ server: role, streams: STREAMS, heap_kb_per_stream: r3((after - before) / STREAMS / 1000) });
  }
  console.table(rows);
  const ratio = r3(rows[1]!.heap_kb_per_stream / rows[0]!.heap_kb_per_stream);
  console.log(`heap per stream: ${ratio}× the bare server's (goal ≤ 3)`);
  console.log(
    JSON.stringify({
      bench: 'sse',
      streams: STREAMS,
      rows,
      ratios: { heap_per_stream_vs_bare: ratio },
      figures: { heap_kb_per_stream: rows[1]!.heap_kb_per_stream },
    }),
  );
  process.exit(0);
}
