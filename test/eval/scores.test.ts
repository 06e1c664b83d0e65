import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`scores on runs on ${store}`, () => {
    let s: TestServer;
    let agentId: string;
    const chat = async (message: string) => {
      const res = await s.request('POST', `/v1/agents/${agentId}/chat`, { body: { message, stream: false } });
      assert.equal(res.status, 200, res.text);
      return res.body.run_id as string;
    };
    before(async () => {
      s = await startServer(store);
      agentId = (await s.request('POST', '/v1/agents', { body: { name: 'scored', model: 'mock/default' } }))
        .body.id;
    });
    after(() => s.close());

    it('attaches scores to a run and filters runs by them', async () => {
      const good = await chat('good one');
      const bad = await chat('bad one');
      const added = await s.request('POST', `/v1/runs/${good}/scores`, {
        body: { name: 'helpful', value: 0.9, comment: 'clear' },
      });
      assert.equal(added.status, 201, added.text);
      // The admin key is a program's (made for no user): its scores are `api` (score-configs.test.ts).
      assert.equal(added.body.source, 'api');
      await s.request('POST', `/v1/runs/${bad}/scores`, { body: { name: 'helpful', value: 0.2 } });
      const listed = await s.request('GET', `/v1/runs/${good}/scores`);
      assert.deepEqual(
        listed.body.data.map((x: { name: string; value: number }) => [x.name, x.value]),
        [['helpful', 0.9]],
      );
      const high = await s.request('GET', '/v1/runs?score_name=helpful&score_min=0.5');
      assert.deepEqual(
        high.body.data.map((r: { id: string }) => r.id),
        [good],
      );
      const low = await s.request('GET', '/v1/runs?score_name=helpful&score_max=0.5');
      assert.deepEqual(
        low.body.data.map((r: { id: string }) => r.id),
        [bad],
      );
      const any = await s.request('GET', '/v1/runs?score_name=helpful');
      assert.equal(any.body.data.length, 2);
      // A listed run carries the latest value of each of its scores' names.
      await s.request('POST', `/v1/runs/${good}/scores`, { body: { name: 'helpful', value: 0.7 } });
      await s.request('POST', `/v1/runs/${good}/scores`, { body: { name: 'brief', value: 1 } });
      const [listedGood] = (await s.request('GET', '/v1/runs?score_name=brief')).body.data;
      assert.deepEqual(listedGood.scores, [
        { name: 'brief', value: 1 },
        { name: 'helpful', value: 0.7 },
      ]);
    });

    it('refuses a bad score with a 4xx', async () => {
      const run = await chat('x');
      const cases: [string, unknown, number][] = [
        [run, { name: 'ok', value: 'high' }, 400],
        [run, { name: '', value: 1 }, 400],
        [run, { name: 'ok', value: 1, source: 'robot' }, 400],
        ['01900000-0000-7000-8000-000000000000', { name: 'ok', value: 1 }, 404],
      ];
      for (const [id, body, status] of cases) {
        const res = await s.request('POST', `/v1/runs/${id}/scores`, { body });
        assert.equal(res.status, status, JSON.stringify(body));
      }
    });

    it('scores the sampled live runs of an agent with its attached evaluators', async () => {
      const put = await s.request('PUT', `/v1/agents/scored/evaluators`, {
        body: {
          evaluators: [{ type: 'regex', name: 'echoes', pattern: '^You said' }, { type: 'json_valid' }],
          sample_rate: 1,
        },
      });
      assert.equal(put.status, 200, put.text);
      const run = await chat('sample me');
      const scores = await eventually(async () => {
        const res = await s.request('GET', `/v1/runs/${run}/scores`);
        return res.body.data.length === 2 ? res.body.data : undefined;
      });
      const by = Object.fromEntries(
        scores.map((x: { name: string; value: number; source: string }) => [x.name, x]),
      );
      assert.equal(by.echoes.value, 1);
      assert.equal(by.json_valid.value, 0);
      assert.equal(by.echoes.source, 'evaluator');
      // Sampling nothing scores nothing.
      await s.request('PUT', `/v1/agents/scored/evaluators`, {
        body: { evaluators: [{ type: 'json_valid' }], sample_rate: 0 },
      });
      s.app.services.liveScoring['cache'].clear();
      const unsampled = await chat('not me');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await s.request('GET', `/v1/runs/${unsampled}/scores`)).body.data.length, 0);
      assert.equal((await s.request('DELETE', `/v1/agents/scored/evaluators`)).status, 204);
      assert.equal((await s.request('GET', `/v1/agents/scored/evaluators`)).status, 404);
    });
  });
}
