/**
 * What one async-generator layer costs a streamed chunk. A streamed answer passes two of them (the
 * provider's stream and the gateway's) before the route's loop reads it; this measures the CPU
 * they add per chunk, so "flatten the layers" can be weighed against the CPU per streamed request
 * that bench/gateway.ts reports (about 1–1.6 ms for 11 chunks).
 *
 * A source queue is fed one chunk per macrotask (as a socket read would), read through 0 to 3
 * layers that each re-yield a new chunk object, as the gateway's do. The 0-layer run, a consumer
 * awaiting the source directly, is the peer; each row prints its extra ns per chunk over it.
 *
 *   node --import tsx bench/async-hops.ts [--chunks 200000] [--rounds 3]
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { quantile } from './bench-app.ts';

type Chunk = { type: 'text'; delta: string };

/** A queue read with `next()`, resolved by `push` the way the SSE reader resolves its waiter. */
class Source implements AsyncIterator<Chunk> {
  private queued: Chunk[] = [];
  private waiter?: (r: IteratorResult<Chunk>) => void;

  push(chunk: Chunk): void {
    const waiter = this.waiter;
    if (!waiter) {
      this.queued.push(chunk);
      return;
    }
    this.waiter = undefined;
    waiter({ value: chunk, done: false });
  }

  next(): Promise<IteratorResult<Chunk>> {
    const chunk = this.queued.shift();
    if (chunk) return Promise.resolve({ value: chunk, done: false });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

async function* layer(inner: AsyncIterator<Chunk>): AsyncGenerator<Chunk> {
  for (;;) {
    const next = await inner.next();
    if (next.done) return;
    yield { type: 'text', delta: next.value.delta };
  }
}

/** CPU ns per chunk (process CPU time, not wall: the macrotask hop itself sleeps nowhere). */
async function run(layers: number, chunks: number): Promise<number> {
  const source = new Source();
  let it: AsyncIterator<Chunk> = source;
  for (let i = 0; i < layers; i++) it = layer(it);
  const consumer = (async () => {
    let chars = 0;
    for (let got = 0; got < chunks; got++) chars += ((await it.next()).value as Chunk).delta.length;
    return chars;
  })();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < chunks; i++) {
    source.push({ type: 'text', delta: `word${i} ` });
    await nextMacrotask();
  }
  await consumer;
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / chunks;
}

const { values } = parseArgs({
  options: { chunks: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } },
});
const chunks = Number(values.chunks);
const rounds = Number(values.rounds);
const byLayers: number[][] = [[], [], [], []];
await run(3, chunks / 10); // warm-up: the source, a layer and the consumer compiled before timing
for (let r = 0; r < rounds; r++) {
  // Interleaved, so a noisy second on this machine hits every row alike.
  for (let layers = 0; layers < byLayers.length; layers++) byLayers[layers]!.push(await run(layers, chunks));
}
const base = quantile(byLayers[0]!, 0.5);
console.log(`CPU ns per chunk, median of ${rounds} rounds of ${chunks} chunks (one chunk per macrotask)`);
for (let layers = 0; layers < byLayers.length; layers++) {
  const ns = quantile(byLayers[layers]!, 0.5);
  // The bench's streamed answer is 11 chunks (10 tokens, then the finish with usage).
  const extra = ns - base;
  const note =
    layers === 0
      ? '(the peer)'
      : `+${extra.toFixed(0)} ns a chunk, +${((extra * 11) / 1000).toFixed(1)} µs an 11-chunk answer`;
  console.log(`  ${layers} layer(s): ${ns.toFixed(0)} ns  ${note}`);
}
