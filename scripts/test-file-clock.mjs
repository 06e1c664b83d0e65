// Loaded into every test process by scripts/test.mjs (`--import`): at exit, appends the process's
// wall time since it started and its CPU time to the run's list, for the run's summary. A file that
// shares its process with others (scripts/test-batches.mjs) is timed by `fileClock` too, from its
// first hook to its last. One line each; appends of a short line do not interleave.
import { appendFileSync } from 'node:fs';

const out = process.env.AGENTRY_TEST_TIMES;
const entry = process.argv[1];

/** `process` lines sum to the run's process time; `file` lines are files in a shared process. */
function record(kind, name, wallS, cpu) {
  if (!out) return;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  appendFileSync(out, `${kind}\t${name}\t${wallS.toFixed(1)}\t${cpuS.toFixed(1)}\n`);
}

if (out && entry && /\.test\.js$|[/\\]shared-\d+\.mjs$/.test(entry)) {
  process.on('exit', () => record('process', entry, process.uptime(), process.cpuUsage()));
}

/**
 * Times one file of a shared process: `start` before its tests, `stop` after them. From `start`, the
 * file's `name` is on `globalThis` as the running one (`testFileKey` in
 * test/helpers/pglite-snapshot.ts), for helpers whose state is a file's own.
 */
export function fileClock(name, file) {
  let wall = 0;
  let cpu = process.cpuUsage();
  return {
    start: () => {
      globalThis[Symbol.for('agentry.test.file')] = name;
      wall = performance.now();
      cpu = process.cpuUsage();
    },
    stop: () => record('file', file, (performance.now() - wall) / 1000, process.cpuUsage(cpu)),
  };
}
