/**
 * Sandbox start-up and warm-pool latency, for both backends, against an unsandboxed peer in the
 * same run: `bash -c true` spawned straight on the host (what bwrap adds on top of a plain process).
 *
 *   cold   spawn a sandbox, run `true` (bwrap) or `0` (quickjs), destroy it — nothing prepared
 *   warm   acquire a ready sandbox from the pool + execute + release (destruction and refill run
 *          in the background); each sample starts with a sandbox ready, as at steady state
 *   steady closed-loop throughput with `--concurrency` callers and the pool refilling behind them
 *
 * Targets on a 2-core machine: bwrap warm p50 ≤ 5 ms, cold p50 ≤ 60 ms. Prints a table, the
 * isolation layers actually active, and one JSON line.
 *
 *   node --import tsx bench/sandbox.ts [--quick] [--samples 200] [--seconds 10] [--pool 4] [--concurrency 2]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { sandboxConfig } from '../src/config/sandbox-config.ts';
import { BwrapBackend } from '../src/tools/sandbox/bwrap.ts';
import { detectCgroups } from '../src/tools/sandbox/cgroup.ts';
import { WarmPool } from '../src/tools/sandbox/pool.ts';
import { QuickJsBackend } from '../src/tools/sandbox/quickjs.ts';
import type { Sandbox, SandboxBackend } from '../src/tools/sandbox/types.ts';
import { quantile } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    samples: { type: 'string' },
    seconds: { type: 'string' },
    pool: { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const samples = Number(values.samples ?? (values.quick ? 30 : 200));
const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
const poolSize = Number(values.pool ?? 4);
const concurrency = Number(values.concurrency ?? 2);
const config = sandboxConfig.parse({});
const log = pino({ level: 'silent' });

const summary = (xs: number[]) => ({ p50: round(quantile(xs, 0.5)), p99: round(quantile(xs, 0.99)) });
const round = (x: number) => Math.round(x * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function progress(label: string, i: number, n: number): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${label} ${i}/${n}   `);
  if (i === n && process.stderr.isTTY) process.stderr.write('\n');
}

async function hostSpawn(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/bash', ['-c', 'true'], { stdio: 'ignore', env: {} });
      child.once('error', reject);
      child.once('close', () => resolve());
    });
    times.push(performance.now() - t);
    progress('host spawn', i + 1, samples);
  }
  return times;
}

async function cold<S extends Sandbox>(backend: SandboxBackend<S>, code: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const sandbox = await backend.acquire();
    const r = await backend.execute(sandbox, { code });
    await backend.release(sandbox);
    times.push(performance.now() - t);
    if (r.exit_code !== 0) throw new Error(`cold run failed: ${r.stderr}`);
    progress(`${backend.type} cold`, i + 1, samples);
  }
  return times;
}

async function warm<S extends Sandbox>(backend: SandboxBackend<S>, code: string) {
  const pool = new WarmPool(
    backend,
    { size: poolSize, max_total: poolSize * 4, acquire_timeout_ms: 30_000 },
    log,
  );
  pool.start();
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      while (pool.stats().ready < poolSize) await sleep(1);
      const t = performance.now();
      const sandbox = await pool.acquire();
      const r = await backend.execute(sandbox, { code });
      pool.release(sandbox);
      times.push(performance.now() - t);
      if (r.exit_code !== 0) throw new Error(`warm run failed: ${r.stderr}`);
      progress(`${backend.type} warm`, i + 1, samples);
    }
    // Steady state: callers back to back; the pool refills as fast as the machine allows.
    let done = 0;
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const sandbox = await pool.acquire();
          await backend.execute(sandbox, { code });
          pool.release(sandbox);
          done++;
        }
      }),
    );
    const stats = pool.stats();
    return { times, throughput: round(done / seconds), wait: stats.acquire_wait_ms };
  } finally {
    await pool.stop();
  }
}

async function main(): Promise<void> {
  const cgroups = detectCgroups(config.limit_mode);
  const bwrap = new BwrapBackend({ limits: config.limits, cgroups });
  await bwrap.start();
  const quickjs = new QuickJsBackend(config.limits);
  console.log('isolation layers active:');
  console.log(JSON.stringify({ bwrap: bwrap.describe(), quickjs: quickjs.describe() }, null, 2));

  const host = summary(await hostSpawn());
  const rows: Array<Record<string, unknown>> = [];
  for (const [backend, code] of [
    [bwrap, 'true'],
    [quickjs, '0'],
  ] as const) {
    const c = summary(await cold(backend as SandboxBackend, code));
    const w = await warm(backend as SandboxBackend, code);
    rows.push({
      backend: backend.type,
      cold_p50_ms: c.p50,
      cold_p99_ms: c.p99,
      warm_p50_ms: summary(w.times).p50,
      warm_p99_ms: summary(w.times).p99,
      steady_per_s: w.throughput,
      steady_wait_p50_ms: w.wait.p50,
      steady_wait_p99_ms: w.wait.p99,
      cold_vs_host_spawn: round(c.p50 / host.p50),
      warm_vs_host_spawn: round(summary(w.times).p50 / host.p50),
    });
  }
  bwrap.stop();

  console.log(
    `\nsamples ${samples}, pool ${poolSize}, steady ${seconds} s × ${concurrency} callers, limits ${cgroups.mode}`,
  );
  console.log(`peer: bash -c true spawned on the host, p50 ${host.p50} ms, p99 ${host.p99} ms`);
  console.table(rows);
  const b = rows[0]!;
  console.log(
    `targets (bwrap): warm p50 ${b.warm_p50_ms} ms (≤ 5: ${Number(b.warm_p50_ms) <= 5 ? 'met' : 'missed'}), cold p50 ${b.cold_p50_ms} ms (≤ 60: ${Number(b.cold_p50_ms) <= 60 ? 'met' : 'missed'})`,
  );
  console.log(
    JSON.stringify({
      bench: 'sandbox',
      samples,
      pool: poolSize,
      seconds,
      concurrency,
      host_spawn: host,
      rows,
    }),
  );
}

await main();
