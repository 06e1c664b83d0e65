/**
 * Chaos run (docs/chaos.md): real `agentry` processes on a PostgreSQL cluster and a Redis started
 * here on spare loopback ports, through five scenarios (workers SIGKILLed, PostgreSQL down, Redis
 * down, the callback receiver down, a rolling restart), then a table of what happened.
 *
 *   npm run chaos [-- --reduced]     (the reduced sizes are what `npm test` runs in test/chaos/)
 *   CHAOS_PG_PORT=55432 CHAOS_REDIS_PORT=56432 pick the ports (any free ones otherwise).
 */
import { parseArgs } from 'node:util';
import { full, reduced, runChaos } from '../test/chaos/run.ts';
import { table } from '../test/chaos/scenarios.ts';

const { values } = parseArgs({ options: { reduced: { type: 'boolean', default: false } } });
const started = Date.now();
const results = await runChaos(values.reduced ? reduced : full, (line) =>
  console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
);
console.log(table(results.rows));
if (process.env.CHAOS_VERBOSE) {
  console.log(JSON.stringify([...results.kill.followed, ...results.deploy.followed].map((f) => f.ended)));
  for (const d of [...results.kill.streams.details, ...results.deploy.streams.details]) console.log(d);
}
console.log(`\nprocesses that crashed: ${results.crashes.join(', ') || 'none'}`);
console.log(
  `\n${values.reduced ? 'reduced' : 'full'} run, ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
);
