// Loaded into every test file's process by scripts/test.mjs (`--import`): at exit, appends the
// file's wall time since its process started and its CPU time to the run's list, for the run's
// summary of its slowest files. One line per file; appends of a short line do not interleave.
import { appendFileSync } from 'node:fs';

const out = process.env.AGENTRY_TEST_TIMES;
const file = process.argv[1];
if (out && file?.endsWith('.test.js')) {
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    const wallS = process.uptime().toFixed(1);
    const cpuS = ((cpu.user + cpu.system) / 1e6).toFixed(1);
    appendFileSync(out, `${file}\t${wallS}\t${cpuS}\n`);
  });
}
