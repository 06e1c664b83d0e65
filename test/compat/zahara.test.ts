/**
 * Zahara's contract driven as its documents show it (zahara-runtime.md): POST /execute with
 * X-API-Key and X-Request-Id, body {task, parameters}; POST /run; errors as
 * {error, request_id, duration_ms, service}.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

async function post(s: TestServer, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  const json: any = await res.json();
  return { status: res.status, headers: res.headers, body: json };
}

for (const store of stores) {
  describe(`Zahara contract on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { compat: { zahara: true } });
    });
    after(async () => {
      await s.close();
    });

    it('runs POST /execute on the default agent with X-API-Key, echoing X-Request-Id', async () => {
      const requestId = randomUUID();
      const res = await post(
        s,
        '/execute',
        { task: 'What is 12 * 7?', parameters: {} },
        { 'X-API-Key': s.adminKey, 'X-Request-Id': requestId },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-request-id'), requestId);
      assert.equal(res.body.request_id, requestId);
      assert.equal(res.body.service, 'agentry');
      assert.match(res.body.output, /84/);
      assert.equal(typeof res.body.duration_ms, 'number');
      // The default agent was made on first use, and the run is an ordinary Agentry run.
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      assert.equal(run.body.status, 'completed');
      const agents = await s.request('GET', '/v1/agents?name=default');
      assert.equal(agents.body.data.length, 1);
    });

    it('runs a named agent with parameters as its context, through /run too', async () => {
      await s.request('POST', '/v1/agents', {
        body: { name: 'Greeter', system_prompt: 'Greet {{who}}.' },
      });
      const res = await post(
        s,
        '/run',
        { task: 'say hello', parameters: { agent: 'greeter', who: 'Ada', 'not a name': 1 } },
        { authorization: `Bearer ${s.adminKey}`, 'X-Request-Id': randomUUID() },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const run = await s.request('GET', `/v1/runs/${res.body.run_id}`);
      assert.equal(run.body.agent_id, (await s.request('GET', '/v1/agents?name=Greeter')).body.data[0].id);
    });

    it("answers errors in Zahara's body: bad key 401, bad body 400, unknown agent 404", async () => {
      const requestId = randomUUID();
      const unauthorized = await post(
        s,
        '/execute',
        { task: 'x' },
        { 'X-API-Key': 'agk_nope', 'X-Request-Id': requestId },
      );
      assert.equal(unauthorized.status, 401);
      assert.deepEqual(Object.keys(unauthorized.body).sort(), [
        'duration_ms',
        'error',
        'request_id',
        'service',
      ]);
      assert.equal(unauthorized.body.request_id, requestId);
      assert.equal(typeof unauthorized.body.error, 'string');
      for (const bad of ['{', { parameters: {} }, { task: '', parameters: [] }, { task: 'x', extra: 1 }]) {
        const res = await post(s, '/execute', bad, { 'X-API-Key': s.adminKey });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(typeof res.body.error, 'string');
        assert.equal(res.body.service, 'agentry');
      }
      const missing = await post(
        s,
        '/execute',
        { task: 'x', parameters: { agent: 'nobody' } },
        { 'X-API-Key': s.adminKey },
      );
      assert.equal(missing.status, 404);
      assert.match(missing.body.error, /agent nobody not found/);
      // Agentry's own routes keep Agentry's error body.
      const v1 = await s.request('GET', '/v1/agents/nobody', { key: null });
      assert.equal(typeof v1.body.error, 'object');
    });
  });
}
