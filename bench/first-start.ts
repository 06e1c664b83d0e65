/**
 * A newcomer's first start and every later one: `agentry serve` on the embedded store, as
 * `npm start` runs it, from the process's spawn to /health/ready answering 200, on a new data dir
 * (from the build's seed, dist/pglite-seed.tar.gz, and without it: every migration) and on the
 * same dir again. The floors, in the same invocation: a bare Node process that opens PGlite on a
 * new dir from the same seed (and on that dir again) and answers HTTP, and one that only listens.
 * Wall seconds (the median of the runs) and the process's CPU seconds at ready (all its threads).
 *
 *   node --import tsx bench/first-start.ts [--quick]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtSeedFile, seedMatches } from '../src/db/seed.ts';
import { cpuMs, quantile, r3 } from './bench-app.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const runs = values.quick ? 3 : 5;
const root = fileURLToPath(new URL('../', import.meta.url));
const bin = path.join(root, 'bin', 'agentry.js');
/** `npm start`'s flags (package.json). */
const nodeFlags = ['--max-semi-space-size=64'];

// What a fresh clone's `npm install` leaves (its `prepare` script): the command built, and the seed.
if (!existsSync(builtSeedFile) || !seedMatches(builtSeedFile))
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The floor: PGlite opened as the store opens it (from the seed when the dir is new), behind plain HTTP. */
const pgliteFloor = `
import { existsSync, mkdirSync, openAsBlob } from 'node:fs';
import { createServer } from 'node:http';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
const [dir, seed, port] = process.argv.slice(1);
const fresh = !existsSync(dir + '/PG_VERSION');
mkdirSync(dir, { recursive: true });
const pg = await PGlite.create(dir, {
  extensions: { vector },
  ...(fresh ? { loadDataDir: await openAsBlob(seed, { type: 'application/gzip' }) } : {}),
});
await pg.query('select 1');
createServer((req, res) => pg.query('select 1').then(() => res.end('ok'))).listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => pg.close().then(() => process.exit(0)));
`;
const bareFloor = `
import { createServer } from 'node:http';
createServer((req, res) => res.end('ok')).listen(Number(process.argv[1]), '127.0.0.1');
`;

interface Start {
  wall: number;
  cpu: number;
}

/** Spawns a process, waits for `url` to answer 200, records wall and CPU seconds, then stops it. */
async function timeStart(
  args: (port: number) => string[],
  url: (port: number) => string,
  env = process.env,
  cwd = root,
) {
  const port = await freePort();
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, ...args(port)], {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let done = false;
  exited.then(() => {
    done = true;
  });
  for (;;) {
    if (done) throw new Error(`exited before ready: ${stderr}`);
    const ok = await fetch(url(port)).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const start: Start = { wall: (performance.now() - t0) / 1000, cpu: cpuMs(child.pid) / 1000 };
  child.kill('SIGTERM');
  await exited;
  return start;
}

const serveArgs = (dir: string, port: number) => [
  bin,
  'serve',
  '--data-dir',
  dir,
  '--port',
  String(port),
  '--log-level',
  'warn',
];

const work = mkdtempSync(path.join(tmpdir(), 'agentry-first-start-'));
const rows: Record<string, Start[]> = {};
const add = (name: string, s: Start) => {
  rows[name] ??= [];
  rows[name].push(s);
};
try {
  for (let i = 0; i < runs; i++) {
    const dir = (name: string) => path.join(work, `${name}-${i}`);
    // Each first start in a directory of its own: the key it prints goes into ./.agentry there.
    const serve = (name: string, env = process.env) =>
      timeStart(
        (port) => serveArgs(path.join(dir(name), 'data'), port),
        (port) => `http://127.0.0.1:${port}/health/ready`,
        env,
        mkdirSync(dir(name), { recursive: true }) ?? dir(name),
      );
    add('agentry first (seed)', await serve('seeded'));
    add('agentry later', await serve('seeded'));
    add(
      'agentry first (no seed)',
      await serve('unseeded', { ...process.env, AGENTRY_PGLITE_SEED_FILE: 'none' }),
    );
    const floor = () =>
      timeStart(
        (port) => [
          '--input-type=module',
          '-e',
          pgliteFloor,
          path.join(dir('floor'), 'data'),
          builtSeedFile,
          String(port),
        ],
        (port) => `http://127.0.0.1:${port}/`,
      );
    add('floor: PGlite first (seed)', await floor());
    add('floor: PGlite later', await floor());
    add(
      'floor: node listening',
      await timeStart(
        (port) => ['--input-type=module', '-e', bareFloor, String(port)],
        (port) => `http://127.0.0.1:${port}/`,
      ),
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const med = (name: string, k: keyof Start) =>
  r3(
    quantile(
      rows[name]!.map((s) => s[k]),
      0.5,
    ),
  );
const table = Object.keys(rows).map((name) => ({
  start: name,
  wall_s_p50: med(name, 'wall'),
  wall_s_max: r3(Math.max(...rows[name]!.map((s) => s.wall))),
  cpu_s_p50: med(name, 'cpu'),
}));
console.table(table);
const figures = {
  first_start_s: med('agentry first (seed)', 'wall'),
  later_start_s: med('agentry later', 'wall'),
  first_start_unseeded_s: med('agentry first (no seed)', 'wall'),
  first_start_cpu_s: med('agentry first (seed)', 'cpu'),
  later_start_cpu_s: med('agentry later', 'cpu'),
};
const ratios = {
  first_vs_pglite_floor: r3(figures.first_start_s / med('floor: PGlite first (seed)', 'wall')),
  later_vs_pglite_floor: r3(figures.later_start_s / med('floor: PGlite later', 'wall')),
  later_vs_node_floor: r3(figures.later_start_s / med('floor: node listening', 'wall')),
  first_seeded_vs_unseeded: r3(figures.first_start_s / figures.first_start_unseeded_s),
};
console.log(JSON.stringify({ bench: 'first-start', rows: table, figures, ratios }));
