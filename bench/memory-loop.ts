/**
 * What memory costs the agent loop, with the mock model at zero delay:
 * 1. Context assembly alone (LoopMemory.assemble) for an agent without knowledge (no query at all),
 *    and for one bound to a persona knowledge base and a domain knowledge base of `--docs` documents
 *    (binding look-up, persona text from cache, full-text retrieval).
 * 2. Whole chat turns through the runtime (new session each), for both agents: the difference to a
 *    plain agent is what knowledge costs per turn.
 * 3. History fitting over a long session (1,000 messages) against a 16k-token budget.
 *
 *   node --import tsx bench/memory-loop.ts [--turns 500] [--docs 200]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres adds the PostgreSQL rows.
 */
import { parseArgs } from 'node:util';
import type { ChatMessage } from '../src/models/types.ts';
import { benchApp, quantile, r3 } from './bench-app.ts';

async function time(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

const topics = ['feeding', 'walks', 'alarms', 'grooming', 'training', 'sleep', 'toys', 'vets'];

async function run(store: 'pglite' | 'postgres', turns: number, docs: number) {
  const { fitHistory, LoopMemory, defaultContextSettings } = await import('../src/runtime/context.ts');
  const { app, close } = await benchApp(store, {
    sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
  });
  const { runtime, agents, memory } = app.services;
  // The same assembler the runtime holds, over the same store and memory module.
  const loopMemory = new LoopMemory({
    db: app.services.db,
    memory: () => memory,
    settings: defaultContextSettings,
    log: app.services.log,
  });
  const tenantId = app.defaultTenantId;
  const actor = { tenantId, actor: 'bench' };
  const caller = { tenantId, tenantName: 'default' };
  const embed = { tenantId, tenantName: 'default' };
  const persona = await memory.knowledgeBases.create(
    tenantId,
    { name: 'bench-persona', kind: 'persona', description: '', metadata: {} },
    actor,
  );
  await memory.ingest(
    tenantId,
    persona.id,
    {
      source: 'rex.md',
      bytes: new TextEncoder().encode(
        '# Rex\n\nYou are Rex.\n\n## Constraints\n\nNever bark after bedtime.\n',
      ),
      metadata: {},
    },
    embed,
    actor,
  );
  const domain = await memory.knowledgeBases.create(
    tenantId,
    { name: 'bench-domain', kind: 'domain', description: '', metadata: {} },
    actor,
  );
  for (let i = 0; i < docs; i++) {
    const t = topics[i % topics.length]!;
    const text = `# ${t} ${i}\n\n## Basics\n\nAbout ${t} for dog number ${i}: do it gently, twice a day, and write it down.\n\n## Details\n\nMore about ${t}: ${'careful words about dogs and their people. '.repeat(8)}\n`;
    await memory.ingest(
      tenantId,
      domain.id,
      { source: `doc-${i}.md`, bytes: new TextEncoder().encode(text), metadata: {} },
      embed,
      actor,
    );
  }
  const plain = await agents.create(
    tenantId,
    { name: 'bench-plain', system_prompt: 'You are terse.' },
    actor,
  );
  const knowing = await agents.create(
    tenantId,
    { name: 'bench-knowing', system_prompt: 'You are terse.', knowledge: ['bench-persona', 'bench-domain'] },
    actor,
  );
  const history: ChatMessage[] = [{ role: 'user', content: 'how often should the dog be fed?' }];
  const assemble = (agent: typeof plain) =>
    loopMemory.assemble({ tenantId, agent, history, variables: {}, embed });
  const turn = async (agentId: string) => {
    const h = await runtime.run(caller, agentId, {
      message: 'how often should the dog be fed?',
      stream: false,
      multitask: 'reject',
      on_disconnect: 'continue',
    });
    const r = await h.result();
    if (r.status !== 'completed') throw new Error(`turn ${r.status}`);
  };
  const rows: Record<string, unknown>[] = [];
  const add = (scenario: string, xs: number[]) =>
    rows.push({
      scenario,
      store,
      n: xs.length,
      p50_ms: r3(quantile(xs, 0.5)),
      p99_ms: r3(quantile(xs, 0.99)),
    });

  await time(50, () => assemble(knowing));
  await time(50, () => turn(plain.id));
  add('assemble, no knowledge', await time(turns, () => assemble(plain)));
  add(`assemble, persona + domain (${docs} docs)`, await time(turns, () => assemble(knowing)));
  const plainTurns = await time(turns, () => turn(plain.id));
  add('chat turn, no knowledge', plainTurns);
  const knowingTurns = await time(turns, () => turn(knowing.id));
  add('chat turn, persona + domain', knowingTurns);
  rows.push({
    scenario: 'knowledge cost per turn (p50 difference)',
    store,
    p50_ms: r3(quantile(knowingTurns, 0.5) - quantile(plainTurns, 0.5)),
  });
  const long: ChatMessage[] = Array.from({ length: 1000 }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `message ${i} ${'with some words in it '.repeat(10)}`,
  }));
  add('fitHistory, 1,000 messages, 16k budget', await time(turns, () => fitHistory(long, 16_000)));
  await close();
  return rows;
}

async function main() {
  const { values } = parseArgs({
    options: { turns: { type: 'string', default: '500' }, docs: { type: 'string', default: '200' } },
  });
  const rows: Record<string, unknown>[] = [];
  for (const store of process.env.DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)) {
    rows.push(...(await run(store, Number(values.turns), Number(values.docs))));
  }
  console.table(rows);
}

await main();
