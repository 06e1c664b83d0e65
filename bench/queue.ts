/**
 * Task queue: Agentry against graphile-worker 0.17, each on a fresh database of the same PostgreSQL,
 * in rotating order, `--runs` times. Agentry runs twice: with its tasks kept after success (the
 * default retention; ratios without a suffix) and with a `retention: delete` task type (`_delete`).
 *
 *  - drain: N no-op tasks enqueued in bulk, then processed at concurrency 24, pools opened
 *    beforehand. Both are counted the same way: the drain ends when every handler has returned and
 *    the store shows no task left unfinished (pending or running) → tasks/s.
 *  - latency: after an unmeasured warm-up, tasks enqueued one by one at 200/s → enqueue-to-start
 *    p50/p95/p99 (the handler's first line).
 *  - costs per task, the figures the machine's load moves little: statements sent, CPU µs of this
 *    process (the workers) and of the database's server processes (/proc, local servers only), and
 *    WAL bytes, for the bulk enqueue and the drain; WAL also for the latency phase (one task at a
 *    time, its whole life).
 *
 * The server: a cluster of the bench's own (`--server own`, the default: initdb, fsync on unless
 * `--fsync off`, no checkpoint during the run, so the WAL figures are exact and deterministic; with
 * fsync on, a slow disk sets graphile-worker's latency, whose claims and completions wait for
 * their WAL flush where Agentry's do not), or DATABASE_URL
 * (`--server env`), where WAL is the whole server's and other clients' writes count too.
 * Both in their documented fast configuration (local queues of 500, batched claims and completions;
 * worker.graphile.org/docs/performance), pools of concurrency + 1.
 *
 *   node --import tsx bench/queue.ts [--quick] [--runs 3] [--drain 20000] [--latency 2000]
 *     [--server own|env] [--fsync on|off] [--only drain|latency]
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { quantile } from './bench-app.ts';
import { type Costs, costReader, costsBetween, countStatements } from './pg-costs.ts';
import { agentry, type Contender, type ContenderOptions, graphile } from './queue-contenders.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    drain: { type: 'string' },
    latency: { type: 'string' },
    server: { type: 'string', default: 'own' },
    fsync: { type: 'string', default: 'on' },
    only: { type: 'string' },
  },
});
// Short mode drains 5,000: at 2,000 a drain's fixed costs (first claim, last completions, ~50 ms
// for Agentry and ~30 for graphile-worker) were a third of it.
const DRAIN = Number(args.drain ?? (args.quick ? 5000 : 20_000));
const LATENCY_N = Number(args.latency ?? (args.quick ? 300 : 2000));
const RUNS = Number(args.runs ?? (args.quick ? 1 : 3));
const RATE = 200;
const CONCURRENCY = 24;
const phases = { drain: args.only !== 'latency', latency: args.only !== 'drain' };

countStatements();
const server = await openServer(args.server);
const reader = await costReader(server.url);
const options: ContenderOptions = {
  base: server.url,
  concurrency: CONCURRENCY,
  pool: CONCURRENCY + 1,
  batch: 500,
};

async function openServer(kind: string | undefined): Promise<{ url: string; close: () => void }> {
  if (kind === 'env') {
    const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    return { url, close: () => {} };
  }
  if (kind !== 'own') throw new Error(`--server: own or env, not ${kind}`);
  const { startCluster } = await import('../test/helpers/pg-cluster.ts');
  const cluster = await startCluster(undefined, {
    fsync: args.fsync === 'off' ? 'off' : 'on',
    max_connections: '200',
    checkpoint_timeout: '1h',
    max_wal_size: '20GB',
  });
  // Pages first written after the last checkpoint carry no full-page image: every figure is the
  // work's own WAL, not an accident of when a checkpoint fell.
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  await c.query('checkpoint');
  await c.end();
  return { url: cluster.url, close: () => cluster.remove() };
}

/** Enqueues `n` tasks at RATE/s, each on schedule (not after the last returned). */
async function enqueueAtRate(c: Contender, n: number, t: () => number): Promise<void> {
  const begin = Date.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = begin + (i * 1000) / RATE - Date.now();
    if (wait > 0) await sleep(wait);
    sends.push(c.one({ t: t() }));
  }
  await Promise.all(sends);
}

const perTask = (costs: Costs, nodeUs: number, n: number) => ({
  statements: round(costs.statements / n, 3),
  node_us: Math.round(nodeUs / n),
  pg_us: Math.round((costs.backendMs * 1000) / n),
  wal_bytes: Math.round(costs.walBytes / n),
});
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

async function drain(make: () => Promise<Contender>, n = DRAIN) {
  const c = await make();
  try {
    await c.warm();
    let before = await reader.read(c.database);
    let cpu = process.cpuUsage();
    for (let i = 0; i < n; i += 1000) await c.bulk(Math.min(1000, n - i));
    const enqueue = perTask(costsBetween(before, await reader.read(c.database)), usSince(cpu), n);
    before = await reader.read(c.database);
    cpu = process.cpuUsage();
    const started = performance.now();
    await c.start(() => {});
    while (c.handled() < n) await sleep(2);
    while (await c.unfinished()) await sleep(1);
    const seconds = (performance.now() - started) / 1000;
    const drained = perTask(costsBetween(before, await reader.read(c.database)), usSince(cpu), n);
    return { tasks_per_s: Math.round(n / seconds), enqueue, drain: drained };
  } finally {
    await c.stop();
  }
}

function usSince(cpu: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(cpu);
  return d.user + d.system;
}

async function latency(make: () => Promise<Contender>) {
  const c = await make();
  const lat: number[] = [];
  try {
    await c.start((p) => p.t && lat.push(Date.now() - p.t));
    await sleep(500);
    // Unmeasured warm-up at the same rate: a just-started process runs its first calls unoptimised,
    // opens pool connections and prepares statements on them.
    await enqueueAtRate(c, Math.min(RATE, Math.ceil(LATENCY_N / 10)), () => 0);
    await sleep(200);
    const before = await reader.read(c.database);
    const cpu = process.cpuUsage();
    await enqueueAtRate(c, LATENCY_N, () => Date.now());
    const until = Date.now() + 30_000;
    while (lat.length < LATENCY_N && Date.now() < until) await sleep(5);
    while ((await c.unfinished()) && Date.now() < until) await sleep(5);
    const costs = perTask(costsBetween(before, await reader.read(c.database)), usSince(cpu), LATENCY_N);
    const [p50, p95, p99] = [0.5, 0.95, 0.99].map((q) => quantile(lat, q));
    return { p50, p95, p99, seen: lat.length, ...costs };
  } finally {
    await c.stop();
  }
}

const contenders = {
  agentry: (o: ContenderOptions) => agentry(o, 'keep'),
  'agentry-delete': (o: ContenderOptions) => agentry(o, 'delete'),
  'graphile-worker': graphile,
} as const;
type Name = keyof typeof contenders;
type Row = { run: number; name: Name } & Partial<Awaited<ReturnType<typeof drain>>> & {
    latency?: Awaited<ReturnType<typeof latency>>;
  };

process.stderr.write(
  `queue: ${RUNS} run(s); drain ${DRAIN} tasks at concurrency ${CONCURRENCY}; latency ${LATENCY_N} at ${RATE}/s; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
const load = [loadavg()[0]!];
// Unmeasured: both run in this process, and the first drain of each would otherwise run its code
// unoptimised and prepare its statements on the clock.
if (phases.drain)
  for (const name of Object.keys(contenders) as Name[]) await drain(() => contenders[name](options), 1000);
const rows: Row[] = [];
for (let run = 1; run <= RUNS; run++) {
  // Rotating order: whoever goes first in one run goes later in the next.
  const names = Object.keys(contenders) as Name[];
  const order = names.map((_, i) => names[(i + run - 1) % names.length]!);
  for (const name of order) {
    const make = () => contenders[name](options);
    const row: Row = { run, name };
    if (phases.drain) Object.assign(row, await drain(make));
    if (phases.latency) row.latency = await latency(make);
    rows.push(row);
    process.stderr.write(`  ${JSON.stringify(row)}\n`);
  }
  load.push(loadavg()[0]!);
}
await reader.close();
server.close();

const median = (xs: number[]) => round(quantile(xs, 0.5), 2);
const spread = (xs: number[]) => [round(Math.min(...xs), 2), round(Math.max(...xs), 2)];
/** Per run, ours (`who`: keep or delete retention) over the peer's; then the median and the spread over runs. */
function ratio(pick: (r: Row) => number | undefined, who: Name = 'agentry') {
  const xs: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const [a, b] = ([who, 'graphile-worker'] as const).map((n) =>
      pick(rows.find((r) => r.run === run && r.name === n)!),
    );
    if (a !== undefined && b !== undefined && b > 0) xs.push(a / b);
  }
  return xs.length ? { median: median(xs), spread: spread(xs) } : undefined;
}
const figures = (who: Name, suffix: string) => ({
  [`drain${suffix}_vs_graphile_worker`]: ratio((r) => r.tasks_per_s, who),
  [`p99${suffix}_vs_graphile_worker`]: ratio((r) => r.latency?.p99, who),
  [`wal${suffix}_vs_graphile_worker`]: ratio(
    (r) => r.enqueue && r.drain && r.enqueue.wal_bytes + r.drain.wal_bytes,
    who,
  ),
  [`drain_wal${suffix}_vs_graphile_worker`]: ratio((r) => r.drain?.wal_bytes, who),
  [`drain_node_cpu${suffix}_vs_graphile_worker`]: ratio((r) => r.drain?.node_us, who),
  [`drain_pg_cpu${suffix}_vs_graphile_worker`]: ratio((r) => r.drain?.pg_us, who),
});
// Without a suffix: tasks kept after success (the default); `_delete`: a `retention: delete` type.
const ratios = { ...figures('agentry', ''), ...figures('agentry-delete', '_delete') };
console.table(
  rows.map((r) => ({
    run: r.run,
    name: r.name,
    'tasks/s': r.tasks_per_s,
    'drain stmts': r.drain?.statements,
    'drain node µs': r.drain?.node_us,
    'drain pg µs': r.drain?.pg_us,
    'drain WAL B': r.drain?.wal_bytes,
    'enqueue WAL B': r.enqueue?.wal_bytes,
    'p50 ms': r.latency?.p50,
    'p99 ms': r.latency?.p99,
    'latency node µs': r.latency?.node_us,
    'latency pg µs': r.latency?.pg_us,
    'latency WAL B': r.latency?.wal_bytes,
  })),
);
for (const [k, v] of Object.entries(ratios)) {
  if (v) console.log(`${k}: ${v.median}× (runs ${v.spread.join('–')})`);
}
console.log(
  `load average (1 min) at the start and after each run: ${load.map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(
  JSON.stringify({
    bench: 'queue',
    drain: DRAIN,
    latency_n: LATENCY_N,
    rate: RATE,
    runs: RUNS,
    server: args.server,
    load,
    rows,
    ratios: Object.fromEntries(Object.entries(ratios).flatMap(([k, v]) => (v ? [[k, v.median]] : []))),
    spread: Object.fromEntries(Object.entries(ratios).flatMap(([k, v]) => (v ? [[k, v.spread]] : []))),
  }),
);
process.exit(0);
