/**
 * isA's multi-agent routes: specs listed, read, changed and deleted through
 * /api/v1/agents/multi-specs, swarms and DAGs run through /swarm, /swarm/stream and /swarm/dag,
 * and generation from a requirement.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { sse } from '../runtime/helpers.ts';

for (const store of stores) {
  describe(`isA multi-agent routes on ${store}`, () => {
    let s: TestServer;
    let swarm: string;
    let dag: string;
    const ids: Record<string, string> = {};
    before(async () => {
      s = await startServer(store, { compat: { isa: true } });
      for (const name of ['triage', 'billing', 'writer']) {
        ids[name] = (await s.request('POST', '/v1/agents', { body: { name } })).body.id;
      }
      swarm = (
        await s.request('POST', '/v1/multi-agents', {
          body: { name: 'desk', kind: 'swarm', members: [ids.triage, ids.billing] },
        })
      ).body.id;
      dag = (
        await s.request('POST', '/v1/multi-agents', {
          body: {
            name: 'flow',
            kind: 'dag',
            members: [ids.triage, ids.writer],
            edges: [{ from: ids.triage, to: ids.writer }],
          },
        })
      ).body.id;
    });
    after(async () => {
      await s.close();
    });

    it('lists, reads, changes and deletes specs', async () => {
      const list = await s.request('GET', '/api/v1/agents/multi-specs');
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.body.map((x: { name: string }) => x.name).sort(), ['desk', 'flow']);
      const one = await s.request('GET', `/api/v1/agents/multi-specs/${swarm}`);
      assert.equal(one.body.entry_agent_id, ids.triage);
      const patched = await s.request('PATCH', `/api/v1/agents/multi-specs/${swarm}`, {
        body: { description: 'front desk' },
      });
      assert.equal(patched.body.description, 'front desk');
      const extra = (
        await s.request('POST', '/v1/multi-agents', {
          body: { name: 'tmp', kind: 'swarm', members: [ids.writer] },
        })
      ).body.id;
      assert.equal((await s.request('DELETE', `/api/v1/agents/multi-specs/${extra}`)).status, 200);
      assert.equal((await s.request('GET', `/api/v1/agents/multi-specs/${extra}`)).status, 404);
    });

    it('runs a swarm as JSON and as a stream, from its entry or an override', async () => {
      const json = await s.request('POST', '/api/v1/agents/swarm', {
        body: { spec_id: swarm, message: 'What is 2+2?' },
      });
      assert.equal(json.status, 200, json.text);
      assert.equal(json.body.status, 'success');
      assert.match(json.body.response.result.response, /4/);
      const run = await s.request('GET', `/v1/runs/${json.body.run_id}`);
      assert.equal(run.body.agent_id, ids.triage);
      const over = await s.request('POST', '/api/v1/agents/swarm', {
        body: { spec_id: swarm, message: 'hello', entry_agent_override: 'billing' },
      });
      assert.equal((await s.request('GET', `/v1/runs/${over.body.run_id}`)).body.agent_id, ids.billing);
      const read = await sse(`${s.url}/api/v1/agents/swarm/stream`, {
        key: s.adminKey,
        body: { spec_id: swarm, message: 'hi' },
      });
      assert.equal(read.events.at(-1)?.event, 'session_end');
      const notMember = await s.request('POST', '/api/v1/agents/swarm', {
        body: { spec_id: swarm, message: 'x', entry_agent_override: 'writer' },
      });
      assert.equal(notMember.status, 422, notMember.text);
    });

    it('runs a DAG through /swarm/dag and refuses a swarm there', async () => {
      const res = await s.request('POST', '/api/v1/agents/swarm/dag', {
        body: { spec_id: dag, message: 'plan a trip' },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.status, 'success');
      // DAG node events as a stream, as isA's clients ask with "stream": true.
      const streamed = await sse(`${s.url}/api/v1/agents/swarm/dag`, {
        key: s.adminKey,
        body: { spec_id: dag, message: 'plan a trip', stream: true },
      });
      assert.equal(streamed.events.at(-1)?.event, 'session_end');
      assert.ok(streamed.events.some((e) => e.event === 'result'));
      const wrong = await s.request('POST', '/api/v1/agents/swarm/dag', {
        body: { spec_id: swarm, message: 'x' },
      });
      assert.equal(wrong.status, 422);
    });

    it('generates an agent from a requirement', async () => {
      const res = await s.request('POST', '/api/v1/agents/generate', {
        body: { requirement: 'An assistant that answers questions about invoices' },
      });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.agent?.id, res.text);
      assert.equal(res.body.agent.source, 'generated');
      // isA's config shape, as its other routes answer: model_id, not model.
      assert.equal(typeof res.body.agent.model_id, 'string');
      assert.equal(res.body.agent.model, undefined);
      assert.equal(res.body.agents[0].model_id, res.body.agent.model_id);
      assert.equal((await s.request('POST', '/api/v1/agents/generate', { body: {} })).status, 400);
    });
  });
}
