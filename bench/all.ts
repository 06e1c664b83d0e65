/**
 * Every benchmark, one after another (never two at once: they measure the machine), and one JSON of
 * their ratios and figures with each goal and whether it was met, written to `--out`
 * (bench/ratios.json, the last recorded run, kept in git: its diff is the comparison). Prints each
 * figure beside the previous file's. A benchmark that fails is recorded as failed and the rest run.
 *
 *   npm run bench -- --quick [--only queue,chat] [--out bench/ratios.json]
 *   (DATABASE_URL adds the PostgreSQL rows of chat, durable, api and memory, and runs tracing on
 *   PostgreSQL; the queue benchmark starts a PostgreSQL cluster of its own)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { tsLoaderArgs } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench/ratios.json' },
  },
});
const pg = Boolean(process.env.DATABASE_URL);

/** Each benchmark with its arguments (short mode with --quick) and the goals of its figures. */
const benches: Array<{ name: string; quick: string[]; full?: string[]; goals: Record<string, Goal> }> = [
  {
    name: 'queue',
    quick: ['--quick'],
    // Drain and WAL goals are the delete retention's (the high-volume mode graphile-worker always
    // runs in); keeping every task after success is recorded beside them, without a goal.
    goals: {
      drain_delete_vs_graphile_worker: { atLeast: 1.2 },
      p99_vs_graphile_worker: { atMost: 1.0 },
      wal_delete_vs_graphile_worker: { atMost: 1.5 },
    },
  },
  { name: 'chat', quick: ['--quick'], goals: { turn_overhead_p50_ms_pglite: { atMost: 3 } } },
  { name: 'sse', quick: ['--quick'], goals: { heap_per_stream_vs_bare: { atMost: 3 } } },
  // Runs held while the model waits (issue 67): quick is 500 runs answered after 20 s, the full one
  // 10,000 after 120 s on the embedded store.
  {
    name: 'many-runs',
    quick: ['--quick'],
    goals: {
      refused_pglite: { atMost: 0 },
      health_live_max_ms_pglite: { atMost: 500 },
      cpu_open_ms_per_run_pglite: { atMost: 1.5 },
    },
  },
  {
    name: 'gateway',
    quick: ['--quick'],
    goals: {
      realistic_ttft_500_p50_vs_floor: { atMost: 1.5 },
      realistic_total_500_p50_vs_floor: { atMost: 1.5 },
    },
  },
  { name: 'sandbox', quick: ['--quick'], goals: { bwrap_warm_vs_host_spawn: { atMost: 1.3 } } },
  {
    name: 'durable',
    quick: ['--quick'],
    goals: Object.fromEntries(
      ['pglite', ...(pg ? ['postgres'] : [])].flatMap((s) =>
        ['chat_turn', 'tool_turn'].map((t) => [`${t}_${s}_recorded_vs_floor`, { atMost: 1.15 }]),
      ),
    ),
  },
  {
    name: 'tracing',
    quick: ['--quick', '--store', pg ? 'postgres' : 'pglite'],
    full: ['--store', pg ? 'postgres' : 'pglite'],
    goals: { [`p50_on_vs_off_${pg ? 'postgres' : 'pglite'}`]: { atMost: 1.1 } },
  },
  {
    name: 'eval',
    quick: ['--quick'],
    goals: Object.fromEntries(
      ['pglite', ...(pg ? ['postgres'] : [])].map((s) => [`experiment_vs_chats_${s}`, { atLeast: 0.8 }]),
    ),
  },
  { name: 'api', quick: ['--quick'], goals: {} },
  { name: 'memory', quick: ['--quick'], goals: {} },
  // Retrieval quality at the figures of record (docs/performance.md; deterministic scores).
  {
    name: 'memory-quality',
    quick: [],
    goals: { hit5_hybrid_friendsqa: { atLeast: 0.557 }, hit5_hybrid_notes: { atLeast: 0.975 } },
  },
  // Searches under load: none refused for a lag the clients' own searches made.
  {
    name: 'retrieval-load',
    quick: ['--quick'],
    goals: Object.fromEntries(
      ['pglite', ...(pg ? ['postgres'] : [])].map((s) => [`shed_pct_${s}_c4`, { atMost: 0 }]),
    ),
  },
  { name: 'console', quick: ['--quick'], goals: {} },
  // Below the 1 KiB threshold a model door's whole answer pays only the header check.
  { name: 'compression', quick: ['--quick'], goals: { chat_cpu_vs_plain: { atMost: 1.1 } } },
  // `npm start` to /health/ready on a new data dir (from the build's seed) and on the same dir again.
  {
    name: 'first-start',
    quick: ['--quick'],
    goals: { first_start_s: { atMost: 3 }, later_start_s: { atMost: 1.5 } },
  },
];

interface Goal {
  atMost?: number;
  atLeast?: number;
}
interface Figure {
  value: number | null;
  goal?: string;
  met?: boolean;
}
interface Result {
  figures: Record<string, Figure>;
  error?: string;
  seconds: number;
}

const describe = (g: Goal) => (g.atMost !== undefined ? `≤ ${g.atMost}` : `≥ ${g.atLeast}`);
const meets = (g: Goal, v: number) => (g.atMost !== undefined ? v <= g.atMost : v >= g.atLeast!);

/** Runs one benchmark in a process of its own; its last JSON line holds `ratios` and `figures`. */
function run(name: string, argv: string[]): Promise<{ json?: Record<string, unknown>; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...tsLoaderArgs, `bench/${name}.ts`, ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{"bench"'));
      if (code !== 0 || !line) resolve({ error: `exit ${code}${line ? '' : ', no JSON line'}` });
      else resolve({ json: JSON.parse(line) });
    });
  });
}

const selected = benches.filter((b) => !args.only || args.only.split(',').includes(b.name));
const previous = existsSync(args.out) ? JSON.parse(readFileSync(args.out, 'utf8')) : undefined;
const load = [loadavg()[0]!];
const results: Record<string, Result> = {};
for (const b of selected) {
  const started = performance.now();
  process.stderr.write(`\n== ${b.name} ${(args.quick ? b.quick : (b.full ?? [])).join(' ')}\n`);
  const { json, error } = await run(b.name, args.quick ? b.quick : (b.full ?? []));
  const all = { ...(json?.ratios as object), ...(json?.figures as object) } as Record<string, number | null>;
  const figures: Record<string, Figure> = {};
  for (const [k, v] of Object.entries(all)) figures[k] = { value: v };
  for (const [k, g] of Object.entries(b.goals)) {
    const v = all[k];
    figures[k] = { value: v ?? null, goal: describe(g), met: typeof v === 'number' && meets(g, v) };
  }
  results[b.name] = { figures, seconds: Math.round((performance.now() - started) / 1000), error };
  load.push(loadavg()[0]!);
}

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
const report = {
  at: new Date().toISOString(),
  commit,
  quick: args.quick,
  node: process.version,
  load_average_1m: load.map((l) => Math.round(l * 100) / 100),
  benches: results,
};
writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);

const rows = Object.entries(results).flatMap(([bench, r]) =>
  r.error
    ? [{ figure: `${bench}: failed (${r.error})` }]
    : Object.entries(r.figures).map(([k, f]) => ({
        figure: `${bench}.${k}`,
        previous: previous?.benches?.[bench]?.figures?.[k]?.value ?? '',
        now: f.value,
        goal: f.goal ?? '',
        met: f.goal ? (f.met ? 'yes' : 'NO') : '',
      })),
);
console.table(rows);
console.log(`written to ${args.out} (commit ${commit}; load average ${report.load_average_1m.join(' ')})`);

// The goals' rows as docs/performance.md's current table takes them.
console.log('\n| figure | goal | now | met |\n|---|---|---|---|');
for (const [bench, r] of Object.entries(results)) {
  if (r.error) console.log(`| ${bench} | | failed (${r.error}) | |`);
  for (const [k, f] of Object.entries(r.figures))
    if (f.goal)
      console.log(`| \`${bench}.${k}\` | ${f.goal} | ${f.value ?? '—'} | ${f.met ? 'yes' : 'no'} |`);
}
