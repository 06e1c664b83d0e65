/**
 * Knowledge-base search under load, as a client sees it: searches per second, latency and the share
 * refused with `503 busy` at 1, 4 and 16 concurrent clients through HTTP, on PGlite and PostgreSQL,
 * with the production default for shedding (`server.max_event_loop_delay_ms: 1000`). The floor is the
 * same searches at the same concurrency called on the memory service in the same process (no HTTP, no
 * shedding); the ratio is HTTP searches/s over the floor's. `--hog` runs one busy process beside it
 * for the whole run, as a loaded machine does.
 *
 *   node --import tsx bench/retrieval-load.ts [--quick] [--hog] [--only pglite|postgres] [--docs 300] [--searches 240]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startServer, type TestServer } from '../test/helpers/server.ts';
import { p50p99 } from './bench-app.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    hog: { type: 'boolean', default: false },
    only: { type: 'string' },
    docs: { type: 'string' },
    searches: { type: 'string' },
  },
});
const DOCS = Number(args.docs ?? (args.quick ? 60 : 300));
const SEARCHES = Number(args.searches ?? (args.quick ? 48 : 240));
const CLIENTS = [1, 4, 16];
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
const kinds = (['pglite', 'postgres'] as const).filter((k) => !args.only || args.only === k);

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const words =
  'garden lisbon painting concert harbour violin recipe mountain ledger orbit canal lantern'.split(' ');
const sentence = () => Array.from({ length: 14 }, () => words[Math.floor(rand() * words.length)]).join(' ');
const doc = (i: number) => ({
  source: `doc-${i}.md`,
  content: Array.from({ length: 12 }, (_, s) => `## Part ${i}.${s}\n\n${sentence()}. ${sentence()}.`).join(
    '\n\n',
  ),
  metadata: {},
});
const query = () => Array.from({ length: 3 }, () => words[Math.floor(rand() * words.length)]).join(' ');

/** `total` calls spread over `clients` loops; each call answers its HTTP status (200 for the floor). */
async function drive(clients: number, total: number, call: () => Promise<{ status: number; ms: number }>) {
  const statuses: Record<number, number> = {};
  const ok: number[] = [];
  let left = total;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) {
        const { status, ms } = await call();
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) ok.push(ms);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: Math.round((ok.length / seconds) * 10) / 10, statuses, latency: p50p99(ok) };
}

let ingestRefused = 0;

async function run(kind: 'pglite' | 'postgres') {
  const s: TestServer = await startServer(kind, {
    server: { max_event_loop_delay_ms: 1000 },
    ...(kind === 'postgres' && { store: { pool_max: 10 } }),
  });
  try {
    const kb = (await s.request('POST', '/v1/knowledge-bases', { body: { name: 'load' } })).body.id as string;
    for (let i = 0; i < DOCS; i += 50) {
      const batch = Array.from({ length: Math.min(50, DOCS - i) }, (_, j) => doc(i + j));
      // A refused batch is sent again, as a client honouring Retry-After would (counted, bounded).
      for (let tries = 1; ; tries++) {
        const r = await s.request('POST', `/v1/knowledge-bases/${kb}/documents`, { body: batch });
        if (r.status === 503 && tries < 20) {
          ingestRefused++;
          await new Promise((resolve) => setTimeout(resolve, 250));
          continue;
        }
        if (r.status !== 200 || r.body.failed > 0) throw new Error(r.text);
        break;
      }
    }
    const tenantId = s.app.defaultTenantId;
    const ctx = { tenantId, tenantName: 'default', requestId: 'bench' };
    const body = () => ({ query: query(), top_k: 10, mode: 'hybrid' as const });
    const rows = [];
    // A quiet second and a half before each phase: the shedding's delay is a mean over the last
    // second, and one phase's lag (the ingest's, the floor's) must not be charged to the next.
    const quiet = () => new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const clients of CLIENTS) {
      await quiet();
      const http = await drive(clients, SEARCHES, async () => {
        const t = performance.now();
        const r = await s.request('POST', `/v1/knowledge-bases/${kb}/search`, { body: body() });
        return { status: r.status, ms: performance.now() - t };
      });
      await quiet();
      const floor = await drive(clients, SEARCHES, async () => {
        const t = performance.now();
        await s.app.services.memory.search(tenantId, kb, { ...body(), filters: {} }, ctx);
        return { status: 200, ms: performance.now() - t };
      });
      const shed = http.statuses[503] ?? 0;
      rows.push({
        store: kind,
        clients,
        'searches/s': http.perSecond,
        'p50 / p99 ms': `${http.latency.p50} / ${http.latency.p99}`,
        'shed %': Math.round((shed / SEARCHES) * 1000) / 10,
        other:
          Object.keys(http.statuses)
            .filter((k) => k !== '200' && k !== '503')
            .join(' ') || '-',
        'floor searches/s': floor.perSecond,
        'http/floor': Math.round((http.perSecond / floor.perSecond) * 100) / 100,
      });
    }
    return rows;
  } finally {
    await s.close();
  }
}

// One busy process for the whole run, killed at the end (or with this process).
const hog = args.hog ? spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }) : undefined;
process.on('exit', () => hog?.kill('SIGKILL'));
const rows = [];
try {
  for (const kind of kinds) rows.push(...(await run(kind)));
} finally {
  hog?.kill('SIGKILL');
}
console.log(
  `${DOCS} documents (ingest batches refused with 503: ${ingestRefused}), ${SEARCHES} hybrid searches per row${args.hog ? ', beside a CPU hog' : ''}`,
);
console.table(rows);
const ratios = Object.fromEntries(
  rows.flatMap((r) => [
    [`http_floor_${r.store}_c${r.clients}`, r['http/floor']],
    [`shed_pct_${r.store}_c${r.clients}`, r['shed %']],
  ]),
);
console.log(JSON.stringify({ bench: 'retrieval-load', ingestRefused, rows, ratios }));
