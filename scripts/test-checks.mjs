// The lint and type checks of `npm test`, run beside the test files rather than before them: the
// files spend most of their wall time waiting (on leases, timers, child processes), so on two cores
// the checks' ~50 s of CPU fit in the idle time instead of adding ~45 s in front of the run
// (docs/performance.md, test suite). The same commands as `npm run lint` and `npm run typecheck`.
import { spawn } from 'node:child_process';
import path from 'node:path';

const bin = (name) => path.resolve('node_modules', '.bin', name);

/** One after the other, so they take one core at most; each command's output kept for the report. */
const steps = [
  { name: 'biome check', argv: [bin('biome'), 'check', '.', '--colors=off'] },
  { name: 'knip', argv: [bin('knip'), '--no-progress'] },
  { name: 'tsc', argv: [bin('tsc'), '--noEmit'] },
  { name: 'tsc -p web', argv: [bin('tsc'), '--noEmit', '-p', 'web'] },
];

/**
 * Starts the checks; the promise settles with each step's result once all have run. A failed step
 * is printed as it fails, so a contributor reads it without waiting for the tests.
 */
export function startChecks() {
  const started = Date.now();
  return (async () => {
    const results = [];
    for (const step of steps) {
      const t0 = Date.now();
      const { code, output } = await run(step.argv);
      const result = { name: step.name, code, output, seconds: (Date.now() - t0) / 1000 };
      if (code !== 0) console.error(`\n${step.name} failed (exit ${code}):\n${output}`);
      results.push(result);
    }
    return { results, seconds: (Date.now() - started) / 1000 };
  })();
}

/** A line for the run's summary, and whether every check passed. */
export function checksSummary({ results, seconds }) {
  const failed = results.filter((r) => r.code !== 0);
  const each = results.map((r) => `${r.name} ${r.code === 0 ? 'ok' : 'FAILED'}`).join(', ');
  return {
    ok: failed.length === 0,
    line: `checks beside the tests (${seconds.toFixed(0)} s): ${each}`,
    failures: failed.map((r) => `\n${r.name} failed (exit ${r.code}):\n${r.output}`).join(''),
  };
}

function run([command, ...args]) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', (err) => resolve({ code: 1, output: `${output}${err.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? `signal ${signal}`, output }));
  });
}
