/**
 * API overhead benchmark: a bare Fastify hello-world (the peer) against Agentry's authenticated
 * `GET /v1/agents/:id` and `POST /v1/agents`, on PGlite and on PostgreSQL, in one run.
 * Each server runs in its own child process so the load generator does not share its event loop.
 *
 *   node --import tsx bench/api.ts [--duration 10] [--connections 50] [--quick]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres adds the PostgreSQL rows.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { tsLoaderArgs } from './bench-app.ts';

type Role = 'fastify' | 'agentry-pglite' | 'agentry-postgres';

const self = fileURLToPath(import.meta.url);

/** Child side: start one server on a random port and report its address (and admin key) to the parent. */
async function serveRole(role: Role): Promise<void> {
  if (role === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    app.get('/hello', async () => ({ hello: 'world' }));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    process.send?.({ url });
    return;
  }
  const { benchApp, closeOnTerm } = await import('./bench-app.ts');
  // `tasks: {}` keeps the task workers a server runs by default (benchApp turns them off).
  const { app, close } = await benchApp(role === 'agentry-postgres' ? 'postgres' : 'pglite', { tasks: {} });
  closeOnTerm(close);
  const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url, key: app.adminKey });
}

interface Started {
  child: ChildProcess;
  url: string;
  key?: string;
}

async function start(role: Role): Promise<Started> {
  const child = fork(self, ['--serve', role], { execArgv: tsLoaderArgs, stdio: 'inherit' });
  const [msg] = (await once(child, 'message')) as [{ url: string; key?: string }];
  return { child, ...msg };
}

interface Row {
  scenario: string;
  store: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(opts: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ ...opts, idReplacement: true });
}

function row(scenario: string, store: string, r: autocannon.Result): Row {
  const bad = r.non2xx + r.errors + r.timeouts;
  return {
    scenario,
    store,
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: bad,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      quick: { type: 'boolean', default: false },
    },
  });
  if (values.serve) return serveRole(values.serve as Role);

  const duration = values.quick ? 3 : Number(values.duration);
  const connections = Number(values.connections);
  const rows: Row[] = [];

  const bare = await start('fastify');
  process.stderr.write(`bare fastify: ${duration}s…\n`);
  await load({ url: `${bare.url}/hello`, duration: 1, connections }); // warm-up
  rows.push(
    row('GET hello (bare Fastify)', '-', await load({ url: `${bare.url}/hello`, duration, connections })),
  );
  bare.child.kill();

  const roles: Role[] = process.env.DATABASE_URL
    ? ['agentry-pglite', 'agentry-postgres']
    : ['agentry-pglite'];
  for (const role of roles) {
    const store = role.replace('agentry-', '');
    const s = await start(role);
    const headers = { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' };
    const created = await fetch(`${s.url}/v1/agents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench-agent', template_id: 'basic-assistant' }),
    });
    const agent = (await created.json()) as { id: string };
    const getUrl = `${s.url}/v1/agents/${agent.id}`;

    process.stderr.write(`agentry on ${store}: GET ${duration}s…\n`);
    await load({ url: getUrl, headers, duration: 1, connections });
    rows.push(row('GET /v1/agents/:id', store, await load({ url: getUrl, headers, duration, connections })));

    process.stderr.write(`agentry on ${store}: POST ${duration}s…\n`);
    const post = await load({
      url: `${s.url}/v1/agents`,
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'bench-[<id>]',
        description: 'created by the benchmark',
        tools: ['calculator'],
      }),
      duration,
      connections,
    });
    rows.push(row('POST /v1/agents', store, post));
    s.child.kill();
  }

  const base = rows[0]!.rps;
  const table = rows.map((r) => ({ ...r, 'vs bare': `${((r.rps / base) * 100).toFixed(1)}%` }));
  console.table(table);
  console.log(JSON.stringify({ bench: 'api', duration, connections, rows: table }));
  process.exit(0);
}

await main();
