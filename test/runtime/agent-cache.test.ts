import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { bootOn, call, createAgent, sse } from './helpers.ts';

/**
 * The runtime remembers agent configs between turns; every turn's first statement checks the
 * remembered version, so a change made anywhere (this process or another) is used by the next turn.
 */
for (const store of stores) {
  describe(`agent configs between turns on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store);
    });
    after(() => s.close());

    /** A streamed turn: the tools its `system` event offers, and its session. */
    async function turn(agentId: string, base: string, key: string, sessionId?: string) {
      const read = await sse(`${base}/v1/agents/${agentId}/chat`, {
        key,
        body: { message: 'hello', ...(sessionId && { session_id: sessionId }) },
      });
      assert.equal(read.status, 200, JSON.stringify(read.error));
      assert.ok(read.done);
      const system = read.events.find((e) => e.event === 'system');
      return { tools: system?.data.tools as string[], sessionId: read.events[0]!.data.session_id as string };
    }

    it('a turn after an update uses the new config, on a continuing and on a new session', async () => {
      const agent = await createAgent(s, { name: 'changing' });
      const first = await turn(agent.id, s.url, s.adminKey);
      assert.deepEqual(first.tools, []);
      assert.deepEqual((await turn(agent.id, s.url, s.adminKey, first.sessionId)).tools, []);

      const patched = await s.request('PATCH', `/v1/agents/${agent.id}`, { body: { tools: ['calculator'] } });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual((await turn(agent.id, s.url, s.adminKey, first.sessionId)).tools, ['calculator']);
      assert.deepEqual((await turn(agent.id, s.url, s.adminKey)).tools, ['calculator']);
    });

    it('a deleted agent answers 404 though it was remembered, and nothing is written', async () => {
      const agent = await createAgent(s, { name: 'doomed' });
      const { sessionId } = await turn(agent.id, s.url, s.adminKey);
      const runsBefore = await s.app.db.query<{ n: number }>('select count(*)::int as n from runs');
      assert.equal((await s.request('DELETE', `/v1/agents/${agent.id}`)).status, 204);
      for (const body of [{ message: 'hi' }, { message: 'hi', session_id: sessionId }]) {
        const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
          body: { ...body, stream: false },
        });
        assert.equal(res.status, 404, res.text);
      }
      const runsAfter = await s.app.db.query<{ n: number }>('select count(*)::int as n from runs');
      assert.deepEqual(runsAfter, runsBefore);
    });

    if (store === 'postgres') {
      it('an update made by another process is used by the next turn here', async () => {
        const agent = await createAgent(s, { name: 'shared' });
        const { sessionId } = await turn(agent.id, s.url, s.adminKey);
        const other = await bootOn({ store: s.app.services.config.store });
        try {
          const patched = await call(other.url, s.adminKey, 'PATCH', `/v1/agents/${agent.id}`, {
            tools: ['calculator'],
          });
          assert.equal(patched.status, 200);
          assert.deepEqual((await turn(agent.id, s.url, s.adminKey, sessionId)).tools, ['calculator']);
          assert.deepEqual((await turn(agent.id, s.url, s.adminKey)).tools, ['calculator']);
        } finally {
          await other.app.close();
        }
      });
    }
  });
}
