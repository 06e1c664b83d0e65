import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/config.ts';
import { startServer, type TestResponse, type TestServer } from '../helpers/server.ts';

/** Large enough that a pool of 2 with the old 5 s connect timeout failed hundreds of these as 500s. */
const burst = Number(process.env.AGENTRY_TEST_BURST ?? 600);
const message = `summarise this: ${'lorem ipsum '.repeat(5000)}`;

/**
 * Sends the burst at once: half chat runs, half documents to ingest (a large transaction each).
 * Calls `during` once the requests are out, and reports whether they were still in flight after it.
 */
async function fire<T>(s: TestServer, during: () => Promise<T>) {
  const agent = await s.request('POST', '/v1/agents', { body: { name: 'busy' } });
  const kb = await s.request('POST', '/v1/knowledge-bases', { body: { name: 'busy' } });
  assert.equal(kb.status, 201, kb.text);
  let inFlight = true;
  const all = Promise.all(
    Array.from({ length: burst }, (_, i) =>
      i % 2
        ? s.request('POST', `/v1/agents/${agent.body.id}/chat`, { body: { message, stream: false } })
        : s.request('POST', `/v1/knowledge-bases/${kb.body.id}/documents`, {
            body: { source: `doc-${i}.md`, content: `# Doc ${i}\n\n${message}` },
          }),
    ),
  ).finally(() => {
    inFlight = false;
  });
  const seen = await during();
  const stillInFlight = inFlight;
  return { answers: await all, seen, stillInFlight };
}

function tally(answers: TestResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of answers) {
    const key = `${r.status} ${r.body?.error?.code ?? ''}`.trim();
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function withServer(config: ConfigInput, test: (s: TestServer) => Promise<void>) {
  const s = await startServer('postgres', { ...config, auth: { key_cache_ms: 0 } });
  try {
    await test(s);
  } finally {
    await s.close();
  }
}

describe('a burst of heavy requests on a pool of 2 connections', {
  skip: !process.env.DATABASE_URL && 'needs DATABASE_URL',
  timeout: 600_000,
}, () => {
  it('answers only 2xx, or 503 with Retry-After past the bound, never 500; /health answers while the burst is in flight', (t) =>
    withServer({ store: { pool_max: 2, max_waiting: 8 } }, async (s) => {
      // The health check has a connection of its own: it neither queues behind the burst nor is shed.
      const { answers, seen: health, stillInFlight } = await fire(s, () => s.request('GET', '/health'));
      const counts = tally(answers);
      t.diagnostic(
        `answers: ${JSON.stringify(counts)}; /health ${health.status} during the burst: ${stillInFlight}`,
      );
      const bad = answers.filter(
        (r) =>
          !(
            r.status < 300 ||
            ((r.status === 429 || r.status === 503) && Number(r.headers.get('retry-after')) > 0)
          ),
      );
      assert.equal(bad.length, 0, JSON.stringify(counts));
      assert.ok(
        answers.some((r) => r.status < 300),
        JSON.stringify(counts),
      );
      assert.ok(stillInFlight, 'the burst was still in flight when /health answered');
      assert.equal(health.status, 200, health.text);
      assert.equal(health.body.components.store.status, 'ok');
    }));

  // Every edge bound off (the event-loop one, which a loaded machine trips, and admission's counts):
  // everything is admitted.
  it('lets every admitted request wait for a connection instead of failing (no edge bound)', (t) =>
    withServer(
      {
        store: { pool_max: 2, max_waiting: 0, max_queue_wait_ms: 0 },
        server: {
          max_event_loop_delay_ms: 0,
          admission: { large_concurrency: 1e6, large_bytes_in_flight: 1e12, ingest_concurrency: 1e6 },
        },
      },
      async (s) => {
        const { answers } = await fire(s, async () => undefined);
        const counts = tally(answers);
        t.diagnostic(`answers: ${JSON.stringify(counts)}`);
        assert.ok(
          answers.every((r) => r.status < 300),
          JSON.stringify(counts),
        );
      },
    ));
});

/** Holds the pool's only connection until `release` runs, so every other query waits in line. */
function holdTheConnection(s: TestServer) {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const done = s.app.db.transaction(async (tx) => {
    await tx.query('select 1');
    await held;
  });
  return { release, done };
}

/** The store's line as the edge reads it (the process's own pool: /health reads the queue's tables). */
const pool = (s: TestServer) => s.app.db.poolStats();

describe('admission by how long the line has waited, not by its length', {
  skip: !process.env.DATABASE_URL && 'needs DATABASE_URL',
  timeout: 120_000,
}, () => {
  // The edge bound on the event loop is off: only the store's line decides here.
  const quiet = { max_event_loop_delay_ms: 0 };

  /** Keys stay cached (the default), so that a request once warm reads no table to authenticate. */
  async function withWarmServer(config: ConfigInput, test: (s: TestServer) => Promise<void>) {
    const s = await startServer('postgres', config);
    try {
      await s.request('GET', '/v1/agents');
      await test(s);
    } finally {
      await s.close();
    }
  }

  it('queues a line of quick requests longer than the old bound of 50 (defaults otherwise)', (t) =>
    withWarmServer({ store: { pool_max: 1, max_queue_wait_ms: 600_000 }, server: quiet }, async (s) => {
      const hold = holdTheConnection(s);
      let answered = 0;
      const burst = Array.from({ length: 120 }, () =>
        s.request('GET', '/v1/agents').finally(() => {
          answered += 1;
        }),
      );
      // Every request's query waits behind the held connection (or was refused) before it is let go.
      while (pool(s).waiting + answered < 120) await new Promise((r) => setTimeout(r, 10));
      hold.release();
      await hold.done;
      const counts = tally(await Promise.all(burst));
      t.diagnostic(`answers: ${JSON.stringify(counts)}`);
      assert.deepEqual(counts, { '200': 120 });
    }));

  it('refuses new requests with 503 once the oldest waiting query has waited past the bound', (t) =>
    withServer(
      { store: { pool_max: 1, max_waiting: 0, max_queue_wait_ms: 200 }, server: quiet },
      async (s) => {
        const hold = holdTheConnection(s);
        const first = s.request('GET', '/v1/agents');
        // Waits for the line to age, as the edge sees it: no fixed sleep decides the verdict.
        for (;;) {
          const { waiting, oldestWaitMs } = pool(s);
          if (waiting > 0 && oldestWaitMs >= 200) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const refused = await s.request('GET', '/v1/agents');
        hold.release();
        await hold.done;
        t.diagnostic(`refused: ${refused.status} ${refused.text}`);
        assert.equal(refused.status, 503, refused.text);
        assert.match(refused.body.error.message, /database queue wait/);
        assert.ok(Number(refused.headers.get('retry-after')) > 0);
        // What was admitted before the line grew old still gets its answer.
        assert.equal((await first).status, 200);
        // And once the line is gone, requests are admitted again.
        assert.equal((await s.request('GET', '/v1/agents')).status, 200);
      },
    ));
});
