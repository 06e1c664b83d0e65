/**
 * Zahara's contract driven as its documents show it (zahara-runtime.md): POST /execute with
 * X-API-Key and X-Request-Id, body {task, parameters}; POST /run; errors as
 * {error, request_id, duration_ms, service}.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { tenantsFileSchema } from '../../src/config/tenant-policy.ts';
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

/** A minute window's edge would reset the count mid-test. */
async function awayFromMinuteEdge() {
  const sec = new Date().getUTCSeconds();
  if (sec >= 55) await new Promise((r) => setTimeout(r, (61 - sec) * 1000));
}

describe("Zahara's documented statuses, timeout and runtime access", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      auth: { mode: 'dev' },
      compat: { zahara: true },
      models: {
        // A provider nobody answers at: its breaker opens after one failure.
        providers: { dead: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } },
        retries: { max: 0 },
        breaker: { failure_threshold: 1, reset_ms: 60_000 },
        mock: { delays: { slow: 5_000 } },
      },
    });
    for (const [name, model] of [
      ['Dead', 'dead/x'],
      ['Slow', 'mock/slow'],
    ])
      await s.request('POST', '/v1/agents', { body: { name, model } });
  });
  after(() => s.close());

  const execute = (body: unknown, headers: Record<string, string> = { 'X-API-Key': s.adminKey }) =>
    post(s, '/execute', body, { 'X-Request-Id': randomUUID(), ...headers });

  it('answers 429 with Retry-After over the tenant rate limit', async () => {
    await awayFromMinuteEdge();
    s.app.services.policies.set(
      tenantsFileSchema.parse({ tenants: { default: { rate_limits: { requests_per_minute: 1 } } } }),
    );
    try {
      assert.equal((await execute({ task: 'What is 1+1?', parameters: {} })).status, 200);
      const limited = await execute({ task: 'What is 1+1?', parameters: {} });
      assert.equal(limited.status, 429, JSON.stringify(limited.body));
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.equal(limited.body.service, 'agentry');
      assert.match(limited.body.error, /requests_per_minute/);
    } finally {
      s.app.services.policies.set(tenantsFileSchema.parse({}));
    }
  });

  it('answers 503 with Retry-After while the model breaker is open', async () => {
    const first = await execute({ task: 'hi', parameters: { agent: 'Dead' } });
    assert.equal(first.status, 502, JSON.stringify(first.body));
    const open = await execute({ task: 'hi', parameters: { agent: 'Dead' } });
    assert.equal(open.status, 503, JSON.stringify(open.body));
    assert.ok(Number(open.headers.get('retry-after')) >= 1);
    assert.equal(typeof open.body.error, 'string');
  });

  it('takes a per-request timeout (seconds): past it the run is cancelled and the call is a 504', async () => {
    const res = await execute({ task: 'take your time', parameters: { agent: 'Slow' }, timeout: 0.3 });
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.match(res.body.error, /timeout of 0.3 s/);
    const runs = await s.request('GET', '/v1/runs?limit=1');
    assert.equal(runs.body.data[0].status, 'cancelled');
  });

  it('runs POST /run with X-Request-Id alone in dev auth mode on loopback', async () => {
    const requestId = randomUUID();
    const res = await post(
      s,
      '/run',
      { task: 'What is 2+2?', parameters: {} },
      { 'X-Request-Id': requestId },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.request_id, requestId);
    assert.match(res.body.output, /4/);
    // The gateway's /execute takes its X-API-Key, as Zahara's did.
    const gateway = await post(s, '/execute', { task: 'x', parameters: {} }, {});
    assert.equal(gateway.status, 401);
  });
});

describe('Zahara /run outside dev auth mode', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { compat: { zahara: true } });
  });
  after(() => s.close());

  it('answers 401 saying which credential to send', async () => {
    const res = await post(s, '/run', { task: 'x', parameters: {} }, { 'X-Request-Id': randomUUID() });
    assert.equal(res.status, 401);
    assert.match(res.body.error, /X-API-Key/);
  });
});
