/**
 * A timeline of one bench/gateway.ts run, to say which requests were slow and why: each measured
 * request (when it was due, its latency), and Agentry's GC pauses and event-loop gaps, all on the
 * wall clock (performance.timeOrigin + now, in ms) so the processes' lines line up.
 *
 *   node --import tsx bench/gateway.ts … --timeline /tmp/tl   (writes /tmp/tl.<target>)
 *   node --import tsx bench/gateway-timeline.ts /tmp/tl.agentry [--sched /tmp/sched.txt]
 *
 * The reader prints, per trial, how many of the slowest 1% met a GC pause of Agentry's at one of
 * the two moments a streamed request passes through its thread (arrival, first token), how many
 * met only an event-loop gap that was not GC, and what those gaps added up to.
 *
 * `--sched` says what Agentry's main thread was doing in those gaps (running, waiting for a CPU,
 * asleep), from the kernel's scheduler events. Record them system-wide during a measured load,
 * on the clock the timeline's `clock` line ties to the wall clock, and list the main thread's
 * (its id is the `pid` of that line):
 *
 *   perf sched record -k CLOCK_MONOTONIC -a -o /tmp/sched.data -- sleep 8
 *   perf sched timehist -i /tmp/sched.data -t <pid> --state > /tmp/sched.txt
 *
 * Recording every context switch costs the traced processes CPU too (Agentry's main thread was
 * busy 66–84% of the time with it on, about 62% without): the split it shows is the point, not the
 * trial's p99.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { quantile } from './bench-app.ts';

const wall = (t: number) => (performance.timeOrigin + t).toFixed(3);

/**
 * In Agentry's process: records every gap of more than 4 ms between ticks of a 1 ms timer with the
 * CPU the process used in it (its main thread's and its collector helpers' alike: `--sched` tells
 * the main thread's running from its waiting for a CPU), and the GC pauses the bench's own
 * observer hands to `gc`. `flush` appends the lines.
 */
export function recordAgentryTimeline(file: string): {
  gc: (e: PerformanceEntry) => void;
  flush: () => void;
} {
  // The monotonic clock (process.hrtime, perf's CLOCK_MONOTONIC) against the wall clock, for --sched.
  const start = performance.now();
  const lines = [`clock ${wall(start)} ${(Number(process.hrtime.bigint()) / 1e6).toFixed(3)} ${process.pid}`];
  let last = start;
  let cpu = process.cpuUsage();
  setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage();
    if (now - last > 4) {
      const cpuMs = (used.user + used.system - cpu.user - cpu.system) / 1000;
      lines.push(`gap ${wall(last)} ${(now - last).toFixed(3)} ${cpuMs.toFixed(3)}`);
    }
    last = now;
    cpu = used;
  }, 1).unref();
  return {
    gc(e) {
      lines.push(`gc ${wall(e.startTime)} ${e.duration.toFixed(3)}`);
    },
    flush() {
      if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
      lines.length = 0;
    },
  };
}

/** In the generator: one measured load's requests, as `req <due> <latency>` after a `trial` line. */
export function appendTrial(file: string, requests: Array<{ due: number; latency: number }>): void {
  const lines = requests.map((r) => `req ${wall(r.due)} ${r.latency.toFixed(3)}`);
  appendFileSync(file, `trial\n${lines.join('\n')}\n`);
}

type Span = { at: number; ms: number; cpu: number };

/** How many ms of `s` fall between `from` and `to` (0 when none). */
const overlapMs = (s: Span, from: number, to: number) =>
  Math.max(0, Math.min(to, s.at + s.ms) - Math.max(from, s.at));
const overlaps = (s: Span, from: number, to: number) => overlapMs(s, from, to) > 0;

function read(file: string) {
  const trials: Array<Array<{ due: number; latency: number }>> = [];
  const gcs: Span[] = [];
  const gaps: Span[] = [];
  /** Wall clock minus monotonic clock, in ms (Agentry's `clock` line). */
  let monoToWall: number | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'clock') monoToWall ??= Number(a) - Number(b);
    else if (kind === 'trial') trials.push([]);
    else if (kind === 'req') trials.at(-1)?.push({ due: Number(a), latency: Number(b) });
    else if (kind === 'gc') gcs.push({ at: Number(a), ms: Number(b), cpu: 0 });
    else if (kind === 'gap') gaps.push({ at: Number(a), ms: Number(b), cpu: Number(c) });
  }
  return { trials, gcs, gaps, monoToWall };
}

type State = 'running' | 'waiting for a CPU' | 'asleep';
type Period = { from: number; to: number; state: State };

/**
 * The main thread's periods from `perf sched timehist -t <tid> --state`, on the wall clock. Each
 * line is one stretch on a CPU: its end, the whole time off a CPU before it ("wait time": asleep
 * and then runnable, or runnable all along if it was preempted, state R on the line before), the
 * part of that from its wake-up to getting a CPU ("sch delay"), and the run itself.
 */
function readSched(file: string, monoToWall: number): Period[] {
  const periods: Period[] = [];
  let preempted = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [time, , , wait, delay, run, state] = line.trim().split(/\s+/);
    const end = Number(time) * 1000 + monoToWall;
    if (!Number.isFinite(end) || !Number.isFinite(Number(run))) continue;
    const runFrom = end - Number(run);
    const off = runFrom - Number(wait);
    const woken = preempted ? off : runFrom - Number(delay);
    periods.push({ from: off, to: woken, state: 'asleep' });
    periods.push({ from: woken, to: runFrom, state: 'waiting for a CPU' });
    periods.push({ from: runFrom, to: end, state: 'running' });
    preempted = state === 'R';
  }
  return periods;
}

/** What the main thread did in `spans` that lie within the recording: ms per state. */
function split(spans: Span[], periods: Period[]): string {
  const from = periods[0]?.from ?? 0;
  const to = periods.at(-1)?.to ?? 0;
  const inside = spans.filter((s) => s.at >= from && s.at + s.ms <= to);
  const ms: Record<State, number> = { running: 0, 'waiting for a CPU': 0, asleep: 0 };
  for (const s of inside) {
    for (const p of periods) ms[p.state] += overlapMs(s, p.from, p.to);
  }
  const parts = Object.entries(ms).map(([state, v]) => `${state} ${v.toFixed(0)} ms`);
  const total = inside.reduce((n, s) => n + s.ms, 0);
  return `${inside.length} recorded, ${total.toFixed(0)} ms: ${parts.join(', ')}`;
}

function main(file: string, schedFile?: string): void {
  const { trials, gcs, gaps, monoToWall } = read(file);
  if (schedFile && monoToWall === undefined) throw new Error(`${file} has no clock line for --sched`);
  const periods = schedFile ? readSched(schedFile, monoToWall!) : undefined;
  // A gap that holds a GC pause is the pause: counted once, as GC.
  const notGc = gaps.filter((g) => !gcs.some((p) => overlaps(p, g.at - 1, g.at + g.ms + 1)));
  for (const [i, requests] of trials.entries()) {
    if (requests.length === 0) continue;
    const latencies = requests.map((r) => r.latency);
    const p50 = quantile(latencies, 0.5);
    const p99 = quantile(latencies, 0.99);
    const from = requests[0]!.due;
    const to = requests.at(-1)!.due + p99;
    // A streamed request is on Agentry's thread when it arrives and when its first token does: the
    // first 15 ms after it was due, and the last 5 ms before the client had its token.
    const met = (spans: Span[], r: { due: number; latency: number }) =>
      spans.some(
        (s) => overlaps(s, r.due - 1, r.due + 15) || overlaps(s, r.due + r.latency - 5, r.due + r.latency),
      );
    const slow = requests.filter((r) => r.latency >= p99);
    const withGc = slow.filter((r) => met(gcs, r)).length;
    const gapOnly = slow.filter((r) => !met(gcs, r) && met(notGc, r)).length;
    const exposed = requests.filter((r) => met(gcs, r)).length / requests.length;
    const inTrial = (s: Span) => s.at >= from && s.at <= to;
    const trialGcs = gcs.filter(inTrial);
    const trialGaps = notGc.filter(inTrial);
    const running = trialGaps.filter((g) => g.cpu >= 0.7 * g.ms);
    const sum = (spans: Span[]) => spans.reduce((n, s) => n + s.ms, 0).toFixed(0);
    console.log(
      `trial ${i + 1}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; of the ${slow.length} slowest, ` +
        `${withGc} met a GC pause, ${gapOnly} only a gap that was not GC (${(exposed * 100).toFixed(1)}% ` +
        `of all requests met a GC pause)\n  Agentry: ${trialGcs.length} GC pauses, ${sum(trialGcs)} ms; ` +
        `${trialGaps.length} other event-loop gaps over 4 ms, ${sum(trialGaps)} ms, of which ` +
        `${running.length} (${sum(running)} ms) with the process running for 70% of the gap or more`,
    );
    if (periods) {
      console.log(`  main thread in the other gaps (${split(trialGaps, periods)})`);
      console.log(`  main thread in the GC pauses (${split(trialGcs, periods)})`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { sched: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file) {
    console.error('usage: node --import tsx bench/gateway-timeline.ts <timeline file> [--sched <timehist>]');
    process.exit(2);
  }
  main(file, values.sched);
}
