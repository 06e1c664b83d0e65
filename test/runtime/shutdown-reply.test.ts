import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { holdModel } from '../helpers/held-model.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { eventually } from './helpers.ts';

/**
 * A client waiting for a whole answer when its process shuts down: the run is released for another
 * process to carry on, and the client is told to come back (503 with Retry-After), not that the
 * server failed (500), at the agent chat route and at the agent-as-model door alike.
 */
describe('a waiting whole answer when the process shuts down', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { runtime: { drain_seconds: 0 } });
  });
  after(async () => {
    await s?.close();
  });

  it('answers 503 with Retry-After on /v1/agents/{id}/chat and on agent/<name> models', async () => {
    holdModel(s.app.services.models.mock, 'slow');
    const agent = await s.request('POST', '/v1/agents', { body: { name: 'slow', model: 'mock/slow' } });
    assert.equal(agent.status, 201, agent.text);
    const chat = s.request('POST', `/v1/agents/${agent.body.id}/chat`, {
      body: { message: 'take your time', stream: false },
    });
    const door = s.request('POST', '/v1/chat/completions', {
      body: { model: 'agent/slow', messages: [{ role: 'user', content: 'take your time' }] },
    });
    await eventually(async () => {
      const runs = await s.request('GET', '/v1/runs?status=running');
      return runs.body.data?.length === 2 ? true : undefined;
    });
    // Both runs' model calls are held: the shutdown aborts them, and they are released.
    await s.app.services.runtime.stop(0);
    for (const [name, res] of [
      ['chat', await chat],
      ['agent model', await door],
    ] as const) {
      assert.equal(res.status, 503, `${name}: ${res.text}`);
      assert.equal(res.headers.get('retry-after'), '1', name);
      assert.equal(res.body.error.code, 'unavailable', `${name}: ${res.text}`);
    }
  });
});
