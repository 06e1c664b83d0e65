// Test files that share a process. A file's process pays ~2 s of CPU before its first test (loading
// the app's modules, compiling PGlite's WebAssembly, warming the JIT): a third to a half of a median
// file's CPU. Files that keep to themselves run several to a process, one after another, each as a
// suite named by its path (its hooks and tests nested in it); the others run alone.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * What makes a file run in a process of its own: it writes what the process shares (the environment,
 * the working directory, a global, the timers by node:test's mock, OpenTelemetry's global providers)
 * or measures the process (heap, event-loop delay), which another file's leftovers would skew.
 */
const ownProcess = [
  /process\.env(\.\w+|\[[^\]]+\])\s*=(?!=)/,
  /delete process\.env/,
  /process\.chdir/,
  /globalThis\.\w+\s*=(?!=)/,
  /mock\.timers\.enable/,
  /OTEL_|startTracing/,
  /process\.memoryUsage|monitorEventLoopDelay|eventLoopUtilization/,
];

const runsAlone = (source) => ownProcess.some((p) => p.test(source));

/**
 * Splits the compiled files into what `node --test` runs: entries of up to `size` files each (dealt
 * round-robin, so each entry mixes folders and no entry is all slow ones) and the files that run
 * alone. `sources[i]` is `compiled[i]`'s source path. Each file of an entry is timed (test-file-clock.mjs).
 */
export function testProcesses({ sources, compiled, isShared, dir, size }) {
  const sharing = sources.map(isShared);
  const shared = compiled.filter((_, i) => sharing[i]);
  const alone = compiled.filter((_, i) => !sharing[i]);
  if (size <= 1 || shared.length < 2) return compiled;
  const count = Math.ceil(shared.length / size);
  const clock = pathToFileURL(path.resolve('scripts/test-file-clock.mjs')).href;
  const entries = Array.from({ length: count }, (_, b) => {
    const members = shared.filter((_, i) => i % count === b);
    const entry = path.join(dir, `shared-${String(b + 1).padStart(2, '0')}.mjs`);
    const suites = members.map((f) => fileSuite(path.relative(dir, f), path.resolve(f)));
    const head = [
      "import { after, before, describe } from 'node:test';",
      `import { fileClock } from ${JSON.stringify(clock)};`,
    ].join('\n');
    writeFileSync(entry, `${head}\n${suites.join('\n')}\n`);
    return entry;
  });
  return [...entries, ...alone];
}

/**
 * One file of a shared process: a suite named by its path, holding what the file registers (its
 * top-level hooks included), timed and named as the running file by `fileClock`.
 */
function fileSuite(name, file) {
  return `describe(${JSON.stringify(name)}, async () => {
  const clock = fileClock(${JSON.stringify(name)}, ${JSON.stringify(file)});
  before(clock.start);
  await import(${JSON.stringify(pathToFileURL(file).href)});
  after(clock.stop);
});`;
}

/** Whether `file` (a test source) may share a process with others. */
export const mayShare = (file) => !runsAlone(readFileSync(file, 'utf8'));
