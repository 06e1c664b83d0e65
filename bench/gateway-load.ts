/**
 * The load generator of bench/gateway.ts: open loop (each request timed from when it was due), with
 * the CPU time and RSS of the target process read from /proc.
 */
import { readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { type Dispatcher, Pool } from 'undici';
import { cpuMs, mainThreadCpuMs, quantile } from './bench-app.ts';
import { appendTrial } from './gateway-timeline.ts';

export type Profile = 'instant' | 'realistic';

export interface Target {
  name: 'direct' | 'floor' | 'agentry' | 'portkey';
  origin: string;
  path: (p: Profile) => string;
  headers: (p: Profile) => Record<string, string>;
  model: (p: Profile) => string;
  pid?: number;
  /** The fake upstream's process: its CPU is reported too, with the generator's (they share the machine). */
  upstreamPid?: number;
  /** Reads (and resets) the target's own figures (Agentry only). */
  probe?: () => Promise<Probe>;
}

/** What a target process reports about itself: counters so far, and delays since the last probe. */
export interface Probe {
  /** Store statements run so far. */
  statements: number;
  /** Event-loop delay p99 and maximum (ms) since the last probe. */
  loopP99: number;
  loopMax: number;
  /** Time paused by garbage collection (ms), and the longest pause, since the last probe. */
  gcMs: number;
  gcMaxMs: number;
}

export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** True once a streamed body holds a chunk with content (text or tool-call arguments). */
function hasToken(text: string): boolean {
  for (const line of text.split('\n')) {
    // Most chunks before the first token are a role or an empty delta: parse only a likely one.
    if (!line.startsWith('data: {') || !/"(content":"[^"]|tool_calls)/.test(line)) continue;
    try {
      const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta;
      if (delta?.content || delta?.tool_calls?.length) return true;
    } catch {
      // A chunk split mid-line: the next read completes it.
    }
  }
  return false;
}

/**
 * One request through undici's handler API (no body stream, no async iteration per chunk: the
 * generator shares the machine with what it measures, so its own CPU per chunk is kept small).
 * Resolves with the status, the time of the first token (streaming) or of the end, and the start of
 * a failed answer's body.
 */
function send(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  stream: boolean,
): Promise<{ status: number; at: number; text: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let tokenAt = -1;
    let text = '';
    // Not a TextDecoder: streaming with one makes a native converter per request, which the
    // generator's young-generation GC must finalise (the gateway drops them for the same reason).
    const decoder = new StringDecoder('utf8');
    pool.dispatch(options, {
      // Its presence selects undici's current handler API (not the legacy onConnect one).
      onRequestStart() {},
      onResponseStart(_c, statusCode) {
        status = statusCode;
      },
      onResponseData(_c, part) {
        if (stream && tokenAt < 0) {
          text += decoder.write(part);
          if (hasToken(text)) tokenAt = performance.now();
          else text = text.slice(text.lastIndexOf('\n') + 1);
        } else if (status !== 200 && text.length < 200) {
          text += decoder.write(part);
        }
      },
      onResponseEnd() {
        resolve({ status, at: stream ? tokenAt : performance.now(), text });
      },
      onResponseError(_c, err) {
        reject(err);
      },
    });
  });
}

/**
 * One client pool per target, kept from its warm-up to the end of its phase: the trials measure a
 * gateway serving clients that keep their connections, as a steady load's do. A pool per trial
 * opened ~300 connections at the start of each one (the realistic row's calls in flight), and the
 * gateway's first scavenges of every trial copied and promoted their sockets and parsers.
 */
const pools = new WeakMap<Target, Pool>();

function poolOf(target: Target): Pool {
  let pool = pools.get(target);
  if (!pool) {
    pool = new Pool(target.origin, { connections: 2048, pipelining: 1, keepAliveTimeout: 60_000 });
    pools.set(target, pool);
  }
  return pool;
}

/** Closes the target's pool, at the end of its phase. */
export async function closePool(target: Target): Promise<void> {
  const pool = pools.get(target);
  pools.delete(target);
  await pool?.close();
}

/** Open loop: request i is due at t0 + i/rate and timed from then, whatever the server's pace. */
export async function load(
  target: Target,
  profile: Profile,
  stream: boolean,
  rate: number,
  seconds: number,
  /** A warm-up: errors are not reported. */
  quiet = false,
) {
  const pool = poolOf(target);
  const body = JSON.stringify({
    model: target.model(profile),
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Say ten words.' }],
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  });
  const headers = { 'content-type': 'application/json', ...target.headers(profile) };
  const warm = Math.max(50, Math.floor(rate / 4));
  const total = warm + Math.floor(rate * seconds);
  const latencies: number[] = [];
  // --timeline: every measured request, written after the load (bench/gateway-timeline.ts).
  const timeline = quiet ? undefined : process.env.BENCH_TIMELINE;
  const timed = timeline ? ([] as Array<{ due: number; latency: number }>) : undefined;
  const lags: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const pending: Promise<void>[] = [];
  const cpu0 = cpuMs(target.pid);
  const main0 = mainThreadCpuMs(target.pid);
  const upCpu0 = cpuMs(target.upstreamPid);
  const genCpu0 = process.cpuUsage();
  const probe0 = await target.probe?.();
  const t0 = performance.now() + 20;
  const one = async (i: number, due: number) => {
    try {
      const res = await send(pool, { method: 'POST', path: target.path(profile), headers, body }, stream);
      if (res.status !== 200 || res.at < 0) {
        errors += 1;
        firstError ??= `${res.status} ${res.text.slice(0, 200)}`;
      } else if (i >= warm) {
        latencies.push(res.at - due);
        timed?.push({ due, latency: res.at - due });
      }
    } catch (err) {
      errors += 1;
      firstError ??= String(err);
    }
  };
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + (sent * 1000) / rate <= now) {
      const due = t0 + (sent * 1000) / rate;
      if (sent >= warm) lags.push(now - due);
      pending.push(one(sent, due));
      sent += 1;
    }
    await new Promise((r) => setImmediate(r));
    if (performance.now() - now < 0.5) await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  if (timeline && timed) appendTrial(`${timeline}.${target.name}`, timed);
  const cpuPerRequest = (cpuMs(target.pid) - cpu0) / total;
  const mainCpuPerRequest = (mainThreadCpuMs(target.pid) - main0) / total;
  const gen = process.cpuUsage(genCpu0);
  const genUpCpuPerRequest = ((gen.user + gen.system) / 1000 + cpuMs(target.upstreamPid) - upCpu0) / total;
  const probe1 = await target.probe?.();
  const statementsPerRequest = probe0 && probe1 ? (probe1.statements - probe0.statements) / total : undefined;
  if (firstError && !quiet)
    process.stderr.write(`    ${target.name}: ${errors} errors, first: ${firstError}\n`);
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    n: latencies.length,
    errors,
    lagP99: quantile(lags, 0.99),
    cpuPerRequest,
    /** Of that, the main thread's: where the gateway's own code and its socket calls run. */
    mainCpuPerRequest,
    /** CPU ms per request of the generator and the upstream together: what they took of the machine. */
    genUpCpuPerRequest,
    statementsPerRequest,
    /** The target's event-loop delay p99, GC pause per request and longest GC pause over the load. */
    loopP99: probe1?.loopP99,
    gcPerRequest: probe1 ? probe1.gcMs / total : undefined,
    gcMaxMs: probe1?.gcMaxMs,
  };
}
