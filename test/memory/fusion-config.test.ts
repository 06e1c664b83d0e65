import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Spawned, startServe, tempDir } from '../cli/run-cli.ts';
import { stores, type TestServer } from '../helpers/server.ts';
import { FakeEmbeddings, serverWithEmbeddings } from './fake-embeddings.ts';
import { createKb, search } from './fixtures.ts';

for (const store of stores) {
  describe(`fusion from config on ${store}`, () => {
    let s: TestServer;
    const upstream = new FakeEmbeddings();
    before(async () => {
      s = await serverWithEmbeddings(store, upstream, { fusion: { method: 'rrf', text: 2, vector: 0.5 } });
    });
    after(() => s.close());

    it('runs the configured method and weights when a request sets none, and says so', async () => {
      const kb = await createKb(s, 'configured');
      await s.request('POST', `/v1/knowledge-bases/${kb.id}/documents`, {
        body: [
          { source: 'dog.txt', content: 'the puppy is hungry at noon' },
          { source: 'alarm.txt', content: 'the siren sounds at night' },
        ],
      });
      const res = await search(s, kb.id, { query: 'dog food' });
      assert.equal(res.mode, 'hybrid');
      assert.equal(res.fusion, 'rrf');
      assert.deepEqual(res.weights, { text: 2, vector: 0.5 });
      // The weights are the ones used: with RRF k = 60, the puppy turn is only in the vector list
      // (no word shared with the query), so its score is 0.5 / (60 + 1).
      const puppy = res.data.find((h) => h.document.source === 'dog.txt');
      assert.ok(puppy, JSON.stringify(res.data));
      assert.equal(puppy.text_rank, null);
      assert.ok(Math.abs(puppy.score - 0.5 / 61) < 1e-9, String(puppy.score));
      // A request's own method and weights win over the configured ones.
      const own = await search(s, kb.id, {
        query: 'dog food',
        fusion: 'score',
        weights: { text: 1, vector: 1 },
      });
      assert.equal(own.fusion, 'score');
      assert.deepEqual(own.weights, { text: 1, vector: 1 });
    });
  });
}

describe('vector search state in the startup banner and /health', { timeout: 300_000 }, () => {
  const tmp = tempDir('agentry-vectors-');
  const running = new Set<Spawned>();
  after(async () => {
    await Promise.all([...running].map((p) => p.stop()));
    tmp.remove();
  });

  type Health = { components: { vector_search: { detail: { state: string } } } };

  /** The banner line about vector search: at most 200 looks, 25 ms apart, after the listening line. */
  async function bannerLine(server: Spawned): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const line = server
        .stderr()
        .split('\n')
        .find((l) => l.startsWith('vector search '));
      if (line) return line;
      await sleep(25);
    }
    assert.fail(`no vector search line:\n${server.stderr()}`);
  }

  /** /health with the key the first start saved: the components' detail is shown only with a key. */
  async function healthOf(url: string): Promise<Health> {
    const { api_key } = JSON.parse(readFileSync(`${tmp.dir}/.agentry/credentials.json`, 'utf8'));
    const res = await fetch(`${url}/health`, { headers: { authorization: `Bearer ${api_key}` } });
    return (await res.json()) as Health;
  }

  it('says plainly at start that vector search is off and how to turn it on; on, with which embedder', async () => {
    const off = await startServe(['--data-dir', `${tmp.dir}/off`], { cwd: tmp.dir });
    running.add(off);
    assert.match(await bannerLine(off), /^vector search off: .*full-text only.*AGENTRY_EMBEDDINGS=offline/);
    const health = await healthOf(off.url);
    assert.equal(health.components.vector_search.detail.state, 'off');
    await off.stop();
    running.delete(off);

    const on = await startServe(['--data-dir', `${tmp.dir}/on`], {
      cwd: tmp.dir,
      env: { AGENTRY_EMBEDDINGS: 'offline' },
    });
    running.add(on);
    assert.match(await bannerLine(on), /^vector search on \(embedder offline:/);
    const onHealth = await healthOf(on.url);
    assert.equal(onHealth.components.vector_search.detail.state, 'on');
    await on.stop();
    running.delete(on);
  });
});
