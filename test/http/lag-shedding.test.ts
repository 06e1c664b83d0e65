import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestResponse, type TestServer } from '../helpers/server.ts';

const THRESHOLD_MS = 150;

/**
 * Event-loop-delay shedding refuses a new request for a pile-up, not for the lag a client's own
 * earlier request left in the last second's mean (a search, an ingest batch: the retrieval benchmark
 * lost 7% of its searches to it at 4 clients).
 */
describe('shedding on event-loop delay', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      server: { max_event_loop_delay_ms: THRESHOLD_MS, shed_min_in_flight: 2 },
    });
  });
  after(() => s.close());

  const lagging = () => s.app.http.memoryUsage().eventLoopDelay > THRESHOLD_MS;

  /**
   * Blocks the loop, waits for under-pressure's sample to show it, and sends `request`. The sample
   * is renewed each second: the answer counts only if the lag still shows after it (the decision
   * was then taken under it), else it tries again, at most 4 times.
   */
  async function underLag(request: () => Promise<TestResponse>): Promise<TestResponse> {
    for (let attempt = 0; attempt < 4; attempt++) {
      // The lag: the main thread busy in slices of twice the bound, as long queries on PGlite make
      // it, for more than a whole sample (the delay is a mean over a second of samples).
      for (const until = Date.now() + 2_400; Date.now() < until; ) {
        const end = Date.now() + THRESHOLD_MS * 2;
        while (Date.now() < end);
        await new Promise((r) => setImmediate(r));
      }
      await eventually(async () => (lagging() ? true : undefined), 5_000, 'the lag to be sampled');
      const res = await request();
      if (lagging()) return res;
    }
    throw new Error('the lag was never still sampled when the answer came');
  }

  it('answers a lone client whose own previous request made the loop lag', async () => {
    const res = await underLag(() => s.request('GET', '/v1/agents'));
    assert.equal(res.status, 200, res.text);
  });

  it('refuses a new request with 503 and Retry-After while others pile up behind the lag', async (t) => {
    // Two requests in flight: their bodies are declared and never finish arriving.
    const held = [0, 1].map(() => {
      const req = http.request(`${s.url}/v1/agents`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          'content-type': 'application/json',
          'content-length': '1000',
        },
      });
      req.on('error', () => {}); // destroyed below
      req.write('{"name":');
      return req;
    });
    t.after(() => {
      for (const req of held) req.destroy();
    });
    const res = await underLag(() => s.request('GET', '/v1/agents'));
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.error.code, 'unavailable');
    assert.match(res.body.error.message, /event loop delay/);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  });
});
