/**
 * API overhead: Agentry's authenticated `GET /v1/agents/:id` and `POST /v1/agents` against a bare
 * Fastify hello-world (the peer), each server in its own process, PGlite and (with DATABASE_URL)
 * PostgreSQL. Prints requests/s as a share of the peer's.
 *
 *   node --import tsx bench/api.ts [--duration 10] [--connections 50] [--quick]
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { forkChild, serveBenchApp } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    quick: { type: 'boolean', default: false },
  },
});

if (values.serve === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/hello', async () => ({ hello: 'world' }));
  process.send?.({ url: await app.listen({ host: '127.0.0.1', port: 0 }) });
} else if (values.serve) {
  // `tasks: {}` keeps the task workers a server runs by default.
  await serveBenchApp(values.serve as 'pglite' | 'postgres', { tasks: {} });
} else {
  const duration = values.quick ? 3 : Number(values.duration);
  const connections = Number(values.connections);
  const load = async (opts: autocannon.Options, scenario: string, store: string) => {
    await autocannon({ ...opts, connections, duration: 1, idReplacement: true }); // warm-up
    const r = await autocannon({ ...opts, connections, duration, idReplacement: true });
    const errors = r.non2xx + r.errors + r.timeouts;
    return {
      scenario,
      store,
      rps: Math.round(r.requests.average),
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors,
    };
  };
  const start = (role: string) =>
    forkChild<{ url: string; key?: string }>(import.meta.url, ['--serve', role]);

  const bare = await start('fastify');
  const rows = [await load({ url: `${bare.url}/hello` }, 'GET hello (bare Fastify)', '-')];
  bare.child.kill();
  for (const store of process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite']) {
    const s = await start(store);
    const headers = { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ name: 'bench-agent', template_id: 'basic-assistant' });
    const agent = (await (await fetch(`${s.url}/v1/agents`, { method: 'POST', headers, body })).json()) as {
      id: string;
    };
    rows.push(await load({ url: `${s.url}/v1/agents/${agent.id}`, headers }, 'GET /v1/agents/:id', store));
    const post = JSON.stringify({ name: 'bench-[<id>]', description: 'bench', tools: ['calculator'] });
    rows.push(
      await load(
        { url: `${s.url}/v1/agents`, method: 'POST', headers, body: post },
        'POST /v1/agents',
        store,
      ),
    );
    s.child.kill();
  }
  const table = rows.map((r) => ({ ...r, 'vs bare': `${((r.rps / rows[0]!.rps) * 100).toFixed(1)}%` }));
  console.table(table);
  const slug = (s: string) =>
    s
      .replace(/[^a-z]+/gi, '_')
      .replace(/^_|_$/g, '')
      .toLowerCase();
  const ratios = Object.fromEntries(
    rows
      .slice(1)
      .map((r) => [
        `${slug(r.scenario)}_${r.store}_rps_vs_bare`,
        Math.round((r.rps / rows[0]!.rps) * 1000) / 1000,
      ]),
  );
  console.log(JSON.stringify({ bench: 'api', duration, connections, rows: table, ratios }));
  process.exit(0);
}
