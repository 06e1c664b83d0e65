/**
 * A burst of large requests against one `agentry serve` process (PGlite, as `npm start`), measured
 * from this process (a separate client on loopback): the server's resident memory before, at its
 * peak and 30 s after the last answer, and how long /health/live and /health take to answer while
 * the burst is in flight, against the same probes on the idle server (the floor).
 *
 *   npm run bench:burst -- [--requests 200] [--kb 1] [--size 900000] [--settle 30]
 *
 * Each request is a knowledge-base ingest (`POST /v1/knowledge-bases/{id}/documents`) whose JSON
 * body is `--size` bytes of text, just under the default 1 MiB body limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { quantile, r3, rssMb, spawnServe } from './bench-app.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    size: { type: 'string', default: '900000' },
    settle: { type: 'string', default: '30' },
  },
});
const requests = Number(values.requests);
const size = Number(values.size);
const settleSeconds = Number(values.settle);
const work = mkdtempSync(path.join(tmpdir(), 'agentry-burst-'));

/** Asks `path` every `everyMs` until `stop` is set; the milliseconds of each answer (or of its failure). */
async function probe(url: string, route: string, everyMs: number, stop: { done: boolean }) {
  const times: number[] = [];
  const statuses = new Map<number, number>();
  while (!stop.done) {
    const t0 = performance.now();
    const status = await fetch(`${url}${route}`, { signal: AbortSignal.timeout(60_000) })
      .then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      })
      .catch(() => 0);
    times.push(performance.now() - t0);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    await sleep(everyMs);
  }
  return { times, statuses: Object.fromEntries(statuses) };
}

const summary = (xs: number[]) => ({
  p50: r3(quantile(xs, 0.5)),
  p99: r3(quantile(xs, 0.99)),
  max: r3(Math.max(...xs)),
});

const { child, url, key } = await spawnServe(work);
const pid = child.pid!;
const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
try {
  const kb = await fetch(`${url}/v1/knowledge-bases`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ name: 'burst' }),
  }).then((r) => r.json() as Promise<{ id: string }>);
  // The idle floor: the same probes, nothing else in flight.
  await sleep(2000);
  const idleStop = { done: false };
  const idle = [probe(url, '/health/live', 50, idleStop), probe(url, '/health', 200, idleStop)] as const;
  await sleep(3000);
  idleStop.done = true;
  const [idleLive, idleHealth] = await Promise.all(idle);
  const before = rssMb(pid);

  const stop = { done: false };
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 50);
  const probes = [probe(url, '/health/live', 50, stop), probe(url, '/health', 200, stop)] as const;
  const text = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(size / 27)).slice(0, size);
  const started = performance.now();
  const statuses = new Map<number, number>();
  /** One answer of each status, to say what a refusal or failure was. */
  const examples = new Map<number, string>();
  await Promise.all(
    Array.from({ length: requests }, (_, i) =>
      fetch(`${url}/v1/knowledge-bases/${kb.id}/documents`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ source: `doc-${i}.txt`, content: `${i} ${text}` }),
        signal: AbortSignal.timeout(300_000),
      })
        .then(async (r) => {
          const text = await r.text();
          if (!examples.has(r.status)) examples.set(r.status, text.slice(0, 300));
          return r.status;
        })
        .catch((err: Error) => {
          if (!examples.has(0)) examples.set(0, String(err.cause ?? err.message));
          return 0;
        })
        .then((status) => statuses.set(status, (statuses.get(status) ?? 0) + 1)),
    ),
  );
  const burstMs = performance.now() - started;
  stop.done = true;
  clearInterval(sampler);
  const [live, health] = await Promise.all(probes);
  const atEnd = rssMb(pid);
  await sleep(settleSeconds * 1000);
  const after = rssMb(pid);

  const result = {
    requests,
    body_bytes: size,
    burst_s: r3(burstMs / 1000),
    answers: Object.fromEntries(statuses),
    rss_mb: { before: r3(before), peak: r3(peak), at_end: r3(atEnd), [`after_${settleSeconds}s`]: r3(after) },
    rss_ratio: { peak_over_before: r3(peak / before), after_over_before: r3(after / before) },
    health_live_ms: { idle: summary(idleLive.times), burst: summary(live.times), statuses: live.statuses },
    health_ms: { idle: summary(idleHealth.times), burst: summary(health.times), statuses: health.statuses },
    health_live_p99_ratio: r3(quantile(live.times, 0.99) / quantile(idleLive.times, 0.99)),
  };
  console.log(
    `burst of ${requests} × ${size} B ingests, answered in ${result.burst_s} s: ${JSON.stringify(result.answers)}`,
  );
  console.log('| measure | idle (floor) | burst | ratio |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| /health/live p99 / max ms | ${result.health_live_ms.idle.p99} / ${result.health_live_ms.idle.max} | ${result.health_live_ms.burst.p99} / ${result.health_live_ms.burst.max} | ${result.health_live_p99_ratio} |`,
  );
  console.log(
    `| /health p99 / max ms | ${result.health_ms.idle.p99} / ${result.health_ms.idle.max} | ${result.health_ms.burst.p99} / ${result.health_ms.burst.max} | ${r3(quantile(health.times, 0.99) / quantile(idleHealth.times, 0.99))} |`,
  );
  console.log(
    `| RSS MB before / peak / ${settleSeconds} s after | ${r3(before)} | ${r3(peak)} / ${r3(after)} | ${result.rss_ratio.peak_over_before} / ${result.rss_ratio.after_over_before} |`,
  );
  for (const [status, text] of examples) if (status !== 201) console.log(`  a ${status}: ${text}`);
  console.log(JSON.stringify({ bench: 'burst', ...result }));
} finally {
  child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
