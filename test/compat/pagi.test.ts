/**
 * PAGI's planner and sandbox contract (pagi-chat-desktop.md), driven with the document's curl
 * calls as a plain HTTP client sends them: client-chosen session ids with history, X-Trace-ID in
 * and out, journal rows for the trace id, a notification carrying it (on Redis when configured),
 * and tools through the sandbox.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { eventually } from '../runtime/helpers.ts';

async function post(s: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': s.adminKey, ...headers },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  const json: any = await res.json();
  return { status: res.status, headers: res.headers, body: json };
}

/** Notifications published on `pagi_notifications`, through Redis or the live bus. */
async function listen(s: TestServer, viaRedis: boolean) {
  const seen: Array<Record<string, unknown>> = [];
  const onMessage = (m: string) => seen.push(JSON.parse(m));
  if (viaRedis) {
    const sub = new Redis(process.env.REDIS_URL!);
    await sub.subscribe('pagi_notifications');
    sub.on('message', (_channel, m: string) => onMessage(m));
    return { seen, close: async () => void sub.disconnect() };
  }
  const off = await s.app.services.bus.subscribe('pagi_notifications', onMessage);
  return { seen, close: off };
}

const runs = [
  ...stores.map((store) => ({ store, redis: false })),
  ...(process.env.DATABASE_URL && process.env.REDIS_URL ? [{ store: 'postgres' as const, redis: true }] : []),
];

for (const { store, redis } of runs) {
  describe(`PAGI contract on ${store}${redis ? ' with Redis' : ''}`, () => {
    let s: TestServer;
    let notes: Awaited<ReturnType<typeof listen>>;
    before(async () => {
      s = await startServer(store, {
        compat: { pagi: true },
        ...(redis ? { redis_url: process.env.REDIS_URL } : {}),
        sandbox: { pools: { bwrap: { size: 1 }, quickjs: { size: 1 } } },
      });
      notes = await listen(s, redis);
    });
    after(async () => {
      await notes.close();
      await s.close();
    });

    it('plans in a client-named session, keeps its history, and carries X-Trace-ID through', async () => {
      const session = `s1-${randomUUID().slice(0, 8)}`;
      const first = await post(
        s,
        '/plan',
        { prompt: 'Generate a 3-step plan', session_id: session, resources: [] },
        {
          'X-Trace-ID': 'test-trace-123',
        },
      );
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.headers.get('x-trace-id'), 'test-trace-123');
      assert.equal(first.body.session_id, session);
      assert.ok(first.body.result.length > 0);
      const second = await post(s, '/plan', {
        prompt: 'And the second step?',
        session_id: session,
        resources: [],
      });
      assert.equal(second.status, 200, JSON.stringify(second.body));
      const run = await s.request('GET', `/v1/runs/${second.body.run_id}`);
      const firstRun = await s.request('GET', `/v1/runs/${first.body.run_id}`);
      assert.equal(run.body.session_id, firstRun.body.session_id, 'the same session key is the same session');
      const history = await s.request('GET', `/v1/sessions/${run.body.session_id}/messages`);
      assert.equal(history.body.data.filter((m: { role: string }) => m.role === 'user').length, 2);
      // A new trace id is made when the client sends none.
      assert.match(second.headers.get('x-trace-id') ?? '', /^[0-9a-f-]{36}$/);
      // The audit journal has rows for the trace id, and a notification carried it.
      const rows = await s.app.db.query<{ action: string }>(
        'select action from journal where trace_id = $1 order by id',
        ['test-trace-123'],
      );
      assert.deepEqual(
        rows.map((r) => r.action),
        ['pagi.plan', 'pagi.plan.completed'],
      );
      const note = await eventually(async () => notes.seen.find((n) => n.trace_id === 'test-trace-123'));
      assert.equal(note.run_id, first.body.run_id);
    });

    it('answers /api/v1/plan {prompt} in its shape', async () => {
      const res = await post(
        s,
        '/api/v1/plan',
        { prompt: 'Generate a 3-step plan to solve X' },
        { 'X-Request-Id': 'test-456' },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.service, 'agentry');
      assert.equal(res.body.status, 'ok');
      assert.equal(typeof res.body.plan, 'string');
      assert.equal(res.headers.get('x-request-id'), 'test-456');
    });

    it('runs tools through the sandbox: the demo check, bash and JavaScript code', async () => {
      const demo = await post(
        s,
        '/api/v1/execute_tool',
        { tool_name: 'demo' },
        { 'X-Request-Id': 'test-789' },
      );
      assert.equal(demo.status, 200, JSON.stringify(demo.body));
      assert.equal(demo.body.tool_status, 'success');
      assert.match(demo.body.result.stdout, /demo tool executed/);
      const bash = await post(s, '/api/v1/execute_tool', { tool_name: 'bash', code: 'id -u; exit 3' });
      assert.equal(bash.body.tool_status, 'error');
      assert.equal(bash.body.result.exit_code, 3);
      const js = await post(s, '/api/v1/execute_tool', { tool_name: 'javascript', code: '6 * 7' });
      assert.equal(js.body.tool_status, 'success', JSON.stringify(js.body));
      assert.equal(js.body.result.value, 42);
      assert.equal((await post(s, '/api/v1/execute_tool', { tool_name: 'nope', code: 'x' })).status, 404);
      assert.equal((await post(s, '/api/v1/execute_tool', { tool_name: 'bash' })).status, 400);
      assert.equal((await post(s, '/plan', { session_id: 'x' })).status, 400);
      assert.equal((await post(s, '/plan', { prompt: 'x' }, { 'X-API-Key': 'agk_wrong' })).status, 401);
    });
  });
}

describe('PAGI execute_tool without a sandbox to run it', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', { compat: { pagi: true }, sandbox: { pools: { bwrap: { size: 0 } } } });
  });
  after(() => s.close());

  it('answers 503 with Retry-After and the reason, not a 500', async () => {
    const res = await post(s, '/api/v1/execute_tool', { tool_name: 'bash', code: 'true' });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(JSON.stringify(res.body), /bwrap sandbox pool is turned off/);
  });
});
