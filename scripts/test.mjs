// Runs every test file under test/ with Node's test runner, each compiled once per run with what it
// imports (scripts/build.mjs `buildTests`).
// Usage: node scripts/test.mjs [--heavy | --all] [--checks] [--without-console] [substring …]. With
// no option, every file but the heavy suites (scripts/test-suites.mjs); `--heavy` those alone, `--all`
// both; substrings keep only the files whose path contains one of them. `--checks` (npm test) runs the
// lint and type checks beside the files (scripts/test-checks.mjs) and fails the run if they fail.
// `--without-console` leaves out the console's browser suites (CI's second Node runs them once).
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, buildTests, isStale } from './build.mjs';
import { buildWeb, isWebStale } from './build-web.mjs';
import { mayShare, testProcesses } from './test-batches.mjs';
import { checksSummary, startChecks } from './test-checks.mjs';
import { consoleSuites, heavySuites, isHeavy } from './test-suites.mjs';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'helpers' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

if (process.env.AGENTRY_REQUIRE_POSTGRES === '1' && !process.env.DATABASE_URL) {
  console.error(
    'AGENTRY_REQUIRE_POSTGRES=1 but DATABASE_URL is not set: the PostgreSQL suites would not run.',
  );
  process.exit(1);
}
if (process.env.AGENTRY_REQUIRE_REDIS === '1' && !process.env.REDIS_URL) {
  console.error('AGENTRY_REQUIRE_REDIS=1 but REDIS_URL is not set: the Redis suites would not run.');
  process.exit(1);
}

// The run's wall time, builds included, for its summary at the end, with each set-up step's.
const started = Date.now();
const setUp = [];
async function step(what, fn) {
  const t = Date.now();
  const result = await fn();
  setUp.push(`${what} ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return result;
}
const args = process.argv.slice(2);
const suite = args.includes('--heavy') ? 'heavy' : args.includes('--all') ? 'all' : 'light';
const filters = args.filter((a) => !a.startsWith('--'));
const matching = find('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
// A file named by a substring runs whichever suite it is in.
const withoutConsole = args.includes('--without-console');
const files = matching
  .filter((f) => suite === 'all' || filters.length > 0 || (suite === 'heavy') === isHeavy(f))
  .filter((f) => !(withoutConsole && f.startsWith(consoleSuites)));
const leftOut = matching.filter((f) => isHeavy(f) && !files.includes(f)).length;
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Tests that run `agentry` as a person would spawn bin/agentry.js, which runs dist/: built here once,
// before the files run in parallel, rather than by whichever spawned command notices first.
if (isStale()) await step('the command (dist/)', build);
// The console suites drive the built console in a browser.
if (isWebStale()) await step('the console (dist/web)', buildWeb);

await import('../bin/ts-loader.js');
const { missingSystemDeps } = await import('../test/helpers/system-deps.ts');
const missing = missingSystemDeps(files);
if (missing.length > 0) {
  for (const m of missing) console.error(m);
  process.exit(1);
}

// One migrated PGlite store for the whole run, which every test server starts from (see
// test/helpers/pglite-snapshot.ts). Made with the sources, through the loader the tests use.
const { snapshotEnv, testNodeFlags, testSharedBuffersMb, writeSnapshot } = await import(
  '../test/helpers/pglite-snapshot.ts'
);
const snapshotDir = mkdtempSync(path.join(tmpdir(), 'agentry-test-'));
process.on('exit', () => rmSync(snapshotDir, { recursive: true, force: true }));
const snapshot = path.join(snapshotDir, 'pglite-migrated.tar');
await step('the migrated store snapshot', () => writeSnapshot(snapshot));
// The temporary files of the tests and of every process they start, removed with the run's: a
// server a test kills outright (SIGKILL) cannot remove its own. Modes as /tmp's, since sandboxes run
// as another user and reach their sockets there.
const testTmp = path.join(snapshotDir, 'tmp');
mkdirSync(testTmp);
chmodSync(snapshotDir, 0o711);
chmodSync(testTmp, 0o1777);

// Each file's compiled form, in a directory of this run's own inside the checkout (so packages and
// `agentry/client` resolve as from the sources); stack traces point at the sources.
mkdirSync('.test-build', { recursive: true });
// Ctrl-C reaches the test processes too: this one waits for them to end, then removes its files.
process.on('SIGINT', () => {});
const buildDir = mkdtempSync(path.join('.test-build', 'run-'));
process.on('exit', () => rmSync(buildDir, { recursive: true, force: true }));
const compiled = await step('the test files', () => buildTests(files, buildDir));

// One browser for the run's browser tests, which connect to it (test/helpers/browser.ts), rather than
// a Chromium start per file.
const { browserEndpointEnv, launchRunBrowser, usesBrowser } = await import('../test/helpers/browser.ts');
const browser = usesBrowser(files) ? await step('the browser', launchRunBrowser) : undefined;

// Three files at once on two cores: a file waiting on a lease, a timer or a child process leaves its
// core to the others (docs/performance.md, test suite).
const concurrency = process.env.AGENTRY_TEST_CONCURRENCY ?? '3';
// Up to eight files to a process (scripts/test-batches.mjs), but for the heavy suites, whose files
// kill and start processes and stores, and files that write what a process shares;
// AGENTRY_TEST_SHARE=1 runs every file in a process of its own.
const processes = testProcesses({
  sources: files,
  compiled,
  isShared: (f) => !isHeavy(f) && mayShare(f),
  dir: buildDir,
  size: Number(process.env.AGENTRY_TEST_SHARE ?? 8),
});
// A stuck test fails after ten minutes, and a file whose tests are done exits even when something it
// started still holds the event loop: either would otherwise stall the whole run until CI kills it.
// Each process reports its wall and CPU time at exit, and each file of a shared one its own
// (scripts/test-file-clock.mjs).
const times = path.join(snapshotDir, 'file-times.tsv');
const checks = args.includes('--checks') ? startChecks() : undefined;
const testRun = spawn(
  process.execPath,
  [
    ...testNodeFlags,
    `--import=${pathToFileURL(path.resolve('scripts/test-file-clock.mjs')).href}`,
    '--enable-source-maps',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=600000',
    '--test-force-exit',
    '--test-reporter=spec',
    ...processes,
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      TMPDIR: testTmp,
      [snapshotEnv]: snapshot,
      AGENTRY_PGLITE_SHARED_BUFFERS_MB: String(testSharedBuffersMb),
      AGENTRY_TEST_TIMES: times,
      ...(browser && { [browserEndpointEnv]: browser.wsEndpoint() }),
    },
  },
);
const status = await new Promise((resolve) => testRun.on('close', (code) => resolve(code ?? 1)));
await browser?.close();
printSlowest(times, (Date.now() - started) / 1000);
if (setUp.length > 0) console.log(`Set up before the files: ${setUp.join(', ')}.`);
if (suite === 'light' && leftOut > 0) {
  console.log(
    `\nNot in this run: ${leftOut} files of the heavy suites (${heavySuites.map((s) => s.what).join('; ')}).` +
      '\n`npm run test:heavy` runs them; CI runs both.',
  );
}
if (withoutConsole)
  console.log(`Not in this run (--without-console): the console's suites (${consoleSuites}).`);
let checksOk = true;
if (checks) {
  const summary = checksSummary(await checks);
  console.log(`\n${summary.line}`);
  if (!summary.ok) console.error(summary.failures);
  checksOk = summary.ok;
}
process.exit(status === 0 && checksOk ? 0 : status || 1);

/**
 * The ten slowest files of the run (wall and CPU seconds of each: its process's, or its share of a
 * shared process from its first hook to its last), after the run's and its processes' totals.
 */
function printSlowest(list, wallS) {
  if (!existsSync(list)) return;
  const lines = readFileSync(list, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t'))
    .map(([kind, f, wall, cpu]) => ({
      kind,
      file: path.relative(buildDir, f),
      wall: Number(wall),
      cpu: Number(cpu),
    }));
  const processes = lines.filter((r) => r.kind === 'process');
  const rows = lines.filter((r) => r.file.endsWith('.test.js')).sort((a, b) => b.wall - a.wall);
  const cpu = processes.reduce((sum, r) => sum + r.cpu, 0);
  const walls = processes.reduce((sum, r) => sum + r.wall, 0);
  // Every file's figures, for docs/performance.md's table (the run's own directory is removed at exit).
  writeFileSync(
    path.join('.test-build', 'last-file-times.tsv'),
    rows.map((r) => `${r.file}\t${r.wall.toFixed(1)}\t${r.cpu.toFixed(1)}`).join('\n'),
  );
  console.log(
    `\n${rows.length} files in ${wallS.toFixed(0)} s (their ${processes.length} processes: ${walls.toFixed(0)} s wall, ${cpu.toFixed(0)} s CPU); the slowest (wall s, CPU s):`,
  );
  for (const r of rows.slice(0, 10))
    console.log(`  ${r.wall.toFixed(1).padStart(7)} ${r.cpu.toFixed(1).padStart(7)}  ${r.file}`);
}
