import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { type PgCluster, startCluster } from '../helpers/pg-cluster.ts';
import { startServer, type TestResponse, type TestServer } from '../helpers/server.ts';

/** `{status or status+code: count}` of a set of answers, for a message that shows what happened. */
function tally(answers: TestResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of answers) {
    const key = r.status >= 500 ? `${r.status} ${r.body?.error?.code}` : String(r.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('a PostgreSQL outage', { timeout: 180_000 }, () => {
  let cluster: PgCluster;
  let s: TestServer;
  before(async () => {
    cluster = await startCluster();
    // The key cache is off so every request reaches the store, authentication included.
    s = await startServer('pglite', {
      store: { database_url: cluster.url, pool_max: 2 },
      auth: { key_cache_ms: 0 },
    });
  });
  after(async () => {
    cluster.start();
    await s?.close();
    cluster?.remove();
  });

  it('is answered 503 store_unavailable with Retry-After, never 500, and the API recovers without a restart', async () => {
    const kept = await s.request('POST', '/v1/agents', { body: { name: 'written-before' } });
    assert.equal(kept.status, 201, kept.text);

    cluster.stop();
    // Requests of the kinds users send while the server is gone, for a few seconds (at most 100 rounds).
    const answers: TestResponse[] = [];
    const outageEnds = Date.now() + 3000;
    for (let round = 0; round < 100 && Date.now() < outageEnds; round++) {
      answers.push(
        ...(await Promise.all([
          s.request('GET', '/v1/agents'),
          s.request('GET', `/v1/agents/${kept.body.id}`),
          s.request('POST', '/v1/agents', { body: { name: `during-${round}` } }),
          s.request('GET', '/v1/tasks'),
        ])),
      );
    }
    const health = await s.request('GET', '/health');
    cluster.start();

    const counts = tally(answers);
    assert.deepEqual(counts, { '503 store_unavailable': answers.length }, JSON.stringify(counts));
    for (const r of answers) {
      assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After is set');
      assert.equal(r.body.request_id, r.headers.get('x-request-id'));
    }
    assert.equal(health.status, 503, 'health says the store is down');
    assert.equal(health.body.components.store.status, 'down');

    // Back without a restart of Agentry, and what was written before is still there.
    const back = await eventually(
      async () => {
        const r = await s.request('GET', `/v1/agents/${kept.body.id}`);
        return r.status === 200 ? r : undefined;
      },
      30_000,
      'the API to answer again',
    );
    assert.equal(back.body.name, 'written-before');
    const created = await s.request('POST', '/v1/agents', { body: { name: 'written-after' } });
    assert.equal(created.status, 201, created.text);

    const metrics = await s.request('GET', '/metrics');
    const counted = Number(/^agentry_store_unavailable_total (\d+)/m.exec(metrics.text)?.[1]);
    assert.equal(counted, answers.length, 'every such answer is counted');
  });
});
