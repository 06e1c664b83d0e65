/**
 * Chat runtime overhead per turn (mock model at zero delay, so all of it is Agentry's own) against the
 * model call alone in the same run: a whole turn on a new session against `models.complete`, a tool
 * turn against its two model calls, on PGlite (on the event loop, and in its thread) and PostgreSQL.
 * Target: overhead p50 ≤ 3 ms (PGlite). `cpu_us` is the process's
 * CPU per operation, PGlite's included.
 *
 *   node --import tsx bench/chat.ts [--turns 2000] [--quick]      DATABASE_URL adds PostgreSQL rows
 */
import { parseArgs } from 'node:util';
import { agentOf, type BenchStore, benchApp, callerOf, quantile, r3, timeEach, turn } from './bench-app.ts';

const { values } = parseArgs({
  options: { turns: { type: 'string', default: '2000' }, quick: { type: 'boolean', default: false } },
});
const turns = values.quick ? 200 : Number(values.turns);

async function overhead(store: BenchStore) {
  const { app, close } = await benchApp(store);
  const { models } = app.services;
  const caller = callerOf(app);
  const plain = await agentOf(app, { name: 'bench-plain', system_prompt: 'You are terse.' });
  const tooled = await agentOf(app, {
    name: 'bench-tools',
    system_prompt: 'You are terse.',
    tools: ['calculator'],
  });
  const rows: Array<Record<string, string | number>> = [];
  const add = async (scenario: string, n: number, fn: () => Promise<unknown>, peer?: number[]) => {
    const cpu0 = process.cpuUsage();
    const xs = await timeEach(n, fn);
    const cpu = process.cpuUsage(cpu0);
    const p50 = quantile(xs, 0.5);
    rows.push({
      scenario,
      store,
      n,
      p50_ms: r3(p50),
      p99_ms: r3(quantile(xs, 0.99)),
      overhead_p50_ms: peer ? r3(p50 - quantile(peer, 0.5)) : '',
      // The process's CPU (PGlite's included) per operation: the figure a loaded machine moves least.
      cpu_us: Math.round((cpu.user + cpu.system) / n),
    });
    return xs;
  };
  const system = { role: 'system' as const, content: 'You are terse.' };
  const request = {
    model: 'mock/default',
    messages: [system, { role: 'user' as const, content: 'hello there' }],
  };
  const toolAsk = {
    ...request,
    messages: [system, { role: 'user' as const, content: 'use the calculator tool: 2+2' }],
  };
  const warm = Math.min(200, Math.ceil(turns / 5));
  await timeEach(warm, () => models.complete(request, caller));
  await timeEach(warm, () => turn(app, plain.id, 'hello there'));

  const peer = await add('model call alone (peer)', turns, () => models.complete(request, caller));
  await add('chat turn, new session', turns, () => turn(app, plain.id, 'hello there'), peer);
  const half = Math.ceil(turns / 2);
  const twoCalls = () => models.complete(toolAsk, caller).then(() => models.complete(request, caller));
  const toolPeer = await add('two model calls alone (peer)', half, twoCalls);
  await add(
    'tool turn: 2 model calls + calculator',
    half,
    () => turn(app, tooled.id, toolAsk.messages[1]!.content),
    toolPeer,
  );

  await close();
  return rows;
}

const rows = [];
// The embedded store on the event loop and in its own thread (`store.pglite_thread`).
const stores: BenchStore[] = [
  'pglite',
  'pglite-thread',
  ...(process.env.DATABASE_URL ? (['postgres'] as const) : []),
];
for (const store of stores) rows.push(...(await overhead(store)));
console.table(rows);
const turnRow = rows.find((r) => r.scenario === 'chat turn, new session' && r.store === 'pglite')!;
console.log(`overhead_p50_ms (new PGlite session, target ≤ 3): ${turnRow.overhead_p50_ms}`);
const figures = Object.fromEntries(
  rows
    .filter((r) => r.overhead_p50_ms !== '')
    .map((r) => [
      `${String(r.scenario).startsWith('tool') ? 'tool_turn' : 'turn'}_overhead_p50_ms_${r.store}`,
      r.overhead_p50_ms,
    ]),
);
console.log(JSON.stringify({ bench: 'chat', turns, overhead: rows, figures }));
process.exit(0);
