import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type PgCluster, startCluster } from '../helpers/pg-cluster.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createAgent } from '../tasks/helpers.ts';

const token = 'scrape-token-0123456789abcdef';

/** The value of one sample line (`name{labels} value`), or undefined when the scrape has none. */
const sample = (text: string, line: string) => {
  const at = text.split('\n').find((l) => l.startsWith(`${line} `));
  return at === undefined ? undefined : Number(at.slice(line.length + 1));
};

describe('GET /metrics while the store is down', {
  timeout: 120_000,
}, () => {
  let cluster: PgCluster;
  let s: TestServer;
  before(async () => {
    // A PostgreSQL cluster of the test's own on a spare port: the one that is stopped.
    cluster = await startCluster();
    s = await startServer('pglite', {
      store: { database_url: cluster.url, pool_max: 2 },
      auth: { metrics_token: token },
      // An API process claims no task: the one enqueued below stays pending, so the queue gauges have a series.
      fleet: { role: 'api' },
    });
  });
  after(async () => {
    await s?.close();
    cluster?.remove();
  });

  it('still answers 200, leaves out the store-backed gauges and counts each of them as a scrape error', async () => {
    const agent = await createAgent(s, 'summarizer');
    const task = await s.request('POST', '/v1/tasks', {
      body: { agent_id: agent.id, task_type: 'summarize', title: 'waits', payload: { text: 'hello' } },
    });
    assert.equal(task.status, 202, task.text);
    const before = await s.request('GET', '/metrics', { key: token });
    assert.equal(before.status, 200, before.text);
    assert.match(
      before.text,
      /^agentry_tasks_queue_depth\{/m,
      'the queue depth is there while the store is up',
    );
    assert.equal(sample(before.text, 'agentry_scrape_errors_total{source="queue_depth"}'), undefined);

    cluster.stop();
    try {
      const during = await s.request('GET', '/metrics', { key: token });
      assert.equal(during.status, 200, during.text);
      assert.doesNotMatch(during.text, /^agentry_tasks_queue_depth\{/m, 'no stale queue depth');
      assert.doesNotMatch(during.text, /^agentry_tasks_oldest_pending_age_seconds\{/m);
      assert.doesNotMatch(during.text, /^agentry_budget_used_ratio\{/m);
      for (const source of ['queue_depth', 'queue_oldest_age', 'budget_used']) {
        assert.equal(sample(during.text, `agentry_scrape_errors_total{source="${source}"}`), 1, source);
      }
      // What does not need the store is all there: process figures, and health saying the store is down.
      assert.match(during.text, /^process_cpu_user_seconds_total /m);
      assert.equal(sample(during.text, 'agentry_health_status{component="store"}'), 0);

      const again = await s.request('GET', '/metrics', { key: token });
      assert.equal(sample(again.text, 'agentry_scrape_errors_total{source="queue_depth"}'), 2);
    } finally {
      cluster.start();
    }
  });
});
