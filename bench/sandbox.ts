/**
 * Sandbox start-up, bwrap and quickjs backends, against `bash -c true` spawned straight on the host
 * in the same run (what the sandbox adds on top of a plain process):
 *   cold  spawn a sandbox, run `true` (bwrap) or `0` (quickjs), destroy it;
 *   warm  acquire a ready sandbox from the pool + execute + release (refill runs in the background).
 * Targets (bwrap, 2 cores): warm p50 ≤ 5 ms, cold p50 ≤ 60 ms. Prints the isolation layers active.
 *
 *   node --import tsx bench/sandbox.ts [--quick] [--samples 200]
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { sandboxConfig } from '../src/config/sandbox-config.ts';
import { BwrapBackend } from '../src/tools/sandbox/bwrap.ts';
import { detectCgroups } from '../src/tools/sandbox/cgroup.ts';
import { WarmPool } from '../src/tools/sandbox/pool.ts';
import { QuickJsBackend } from '../src/tools/sandbox/quickjs.ts';
import type { SandboxBackend } from '../src/tools/sandbox/types.ts';
import { p50p99, r3, timeEach } from './bench-app.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, samples: { type: 'string' } },
});
const samples = Number(values.samples ?? (values.quick ? 30 : 200));
const config = sandboxConfig.parse({});
const POOL = 4;

async function run(backend: SandboxBackend, code: string) {
  const cold = await timeEach(samples, async () => {
    const sandbox = await backend.acquire();
    const r = await backend.execute(sandbox, { code });
    await backend.release(sandbox);
    if (r.exit_code !== 0) throw new Error(`cold run failed: ${r.stderr}`);
  });
  const pool = new WarmPool(
    backend,
    { size: POOL, max_total: POOL * 4, acquire_timeout_ms: 30_000 },
    pino({ level: 'silent' }),
  );
  pool.start();
  const warm: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      while (pool.stats().ready < POOL) await sleep(1); // each sample starts with a sandbox ready
      const t = performance.now();
      const sandbox = await pool.acquire();
      const r = await backend.execute(sandbox, { code });
      pool.release(sandbox);
      warm.push(performance.now() - t);
      if (r.exit_code !== 0) throw new Error(`warm run failed: ${r.stderr}`);
    }
  } finally {
    await pool.stop();
  }
  return { cold: p50p99(cold), warm: p50p99(warm) };
}

const cgroups = detectCgroups(config.limit_mode);
const bwrap = new BwrapBackend({ limits: config.limits, cgroups });
await bwrap.start();
const quickjs = new QuickJsBackend(config.limits);
console.log(
  'isolation layers active:',
  JSON.stringify({ bwrap: bwrap.describe(), quickjs: quickjs.describe() }),
);
const host = p50p99(
  await timeEach(samples, async () => {
    const child = spawn('/bin/bash', ['-c', 'true'], { stdio: 'ignore', env: {} });
    await new Promise((resolve, reject) => child.once('error', reject).once('close', resolve));
  }),
);
const rows = [];
for (const [backend, code] of [
  [bwrap, 'true'],
  [quickjs, '0'],
] as const) {
  const { cold, warm } = await run(backend as SandboxBackend, code);
  rows.push({
    backend: backend.type,
    cold_p50_ms: cold.p50,
    cold_p99_ms: cold.p99,
    warm_p50_ms: warm.p50,
    warm_p99_ms: warm.p99,
    cold_vs_host_spawn: r3(cold.p50 / host.p50),
    warm_vs_host_spawn: r3(warm.p50 / host.p50),
  });
}
bwrap.stop();
console.log(
  `samples ${samples}, pool ${POOL}, limits ${cgroups.mode}; peer bash -c true: p50 ${host.p50} ms, p99 ${host.p99} ms`,
);
console.table(rows);
const b = rows[0]!;
console.log(`targets (bwrap): warm p50 ${b.warm_p50_ms} ms (≤ 5), cold p50 ${b.cold_p50_ms} ms (≤ 60)`);
const ratios = Object.fromEntries(
  rows.flatMap((r) => [
    [`${r.backend}_warm_vs_host_spawn`, r.warm_vs_host_spawn],
    [`${r.backend}_cold_vs_host_spawn`, r.cold_vs_host_spawn],
  ]),
);
const figures = Object.fromEntries(rows.flatMap((r) => [[`${r.backend}_warm_p50_ms`, r.warm_p50_ms]]));
console.log(JSON.stringify({ bench: 'sandbox', samples, host_spawn: host, rows, ratios, figures }));
