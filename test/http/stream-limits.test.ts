/**
 * Every streaming route goes through the one SSE writer and its limits: a client on a real socket
 * that stops reading while megabytes wait for it is cut off (its response destroyed, its buffers
 * freed) after `server.stream_stall_ms`, rather than held open with the rest of the answer
 * buffered. One case per route; the route table says which routes stream (`produces:
 * text/event-stream`), so a streaming route added later fails here until it has a case.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// 1,200 words of 10 KB: a 12 MB answer, several times what loopback socket buffers hold.
const content = Array.from(
  { length: 1200 },
  (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(10_000)}`,
).join(' ');

const NO_RUN = '00000000-0000-0000-0000-000000000000';

interface Case {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

describe('streams cut off a client that stops reading', () => {
  let s: TestServer;
  const made: Record<string, string> = {};
  const responses = new Map<string, ServerResponse>();

  const post = async (path: string, body: unknown) => {
    const r = await s.request('POST', path, { body });
    assert.ok(r.status < 300, `${path}: ${r.status} ${r.text}`);
    return r.body;
  };

  before(async () => {
    s = await startServer('pglite', {
      models: { default_max_tokens: 4_000_000, mock: { chunk_delay_ms: 0, words_per_chunk: 1 } },
      server: { stream_stall_ms: 1000 },
      compat: { isa: true },
      tasks: { workers: 0 },
    });
    s.app.http.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      responses.set(`${req.method} ${req.url}`, res);
    });
    made.agent = (
      await post('/v1/agents', { name: 'long-winded', model: 'mock/long', visibility: 'public' })
    ).id;
    made.spec = (await post('/v1/multi-agents', { name: 'team', kind: 'swarm', members: [made.agent] })).id;
    // A finished run whose stream is replayed from the log.
    s.app.services.models.mock.script('long', [{ content }]);
    made.run = (
      await post(`/v1/agents/${made.agent}/chat`, { message: 'tell me everything', stream: false })
    ).run_id;
    // A task whose stream holds 12 MB of events (a task's own events are small: these are written
    // to the log as a long-lived task's would accumulate).
    made.task = (await post('/v1/tasks', { agent_id: made.agent, task_type: 'default', title: 'long' })).id;
    await s.app.db.query(
      `insert into events (tenant_id, stream_id, type, data)
       select t.tenant_id, t.id, 'progress', json_build_object('n', g, 'pad', repeat('x', 10000))
       from tasks t, generate_series(1, 1200) g where t.id = $1`,
      [made.task],
    );
    // An experiment (no worker runs its lanes) whose stream holds 12 MB of events, as for the task.
    await post('/v1/datasets', { name: 'one', items: [{ input: { message: 'hi' } }] });
    made.experiment = (
      await post('/v1/experiments', {
        dataset: 'one',
        agent: made.agent,
        evaluators: [{ type: 'exact_match' }],
      })
    ).id;
    await s.app.db.query(
      `insert into events (tenant_id, stream_id, type, data)
       select e.tenant_id, e.id, 'experiment.item', json_build_object('n', g, 'pad', repeat('x', 10000))
       from experiments e, generate_series(1, 1200) g where e.id = $1`,
      [made.experiment],
    );
  });
  after(() => s.close());

  const message = { message: 'tell me everything' };
  const cases: Record<string, () => Case> = {
    'POST /v1/agents/:id/chat': () => ({
      method: 'POST',
      path: `/v1/agents/${made.agent}/chat`,
      body: message,
    }),
    'POST /v1/chat': () => ({
      method: 'POST',
      path: '/v1/chat',
      body: { agent_config_id: made.agent, ...message },
    }),
    'GET /v1/runs/:id/stream': () => ({ method: 'GET', path: `/v1/runs/${made.run}/stream` }),
    // A tail from the first run on: the 12 MB answer is in the summaries it sends.
    'GET /v1/runs/tail': () => ({ method: 'GET', path: `/v1/runs/tail?after=${NO_RUN}` }),
    'GET /v1/tasks/:id/events': () => ({ method: 'GET', path: `/v1/tasks/${made.task}/events` }),
    'GET /v1/experiments/:id/stream': () => ({
      method: 'GET',
      path: `/v1/experiments/${made.experiment}/stream`,
    }),
    'POST /v1/multi-agents/:id/run': () => ({
      method: 'POST',
      path: `/v1/multi-agents/${made.spec}/run`,
      body: message,
    }),
    'POST /v1/chat/completions': () => ({
      method: 'POST',
      path: '/v1/chat/completions',
      body: { model: 'mock/long', stream: true, messages: [{ role: 'user', content: 'everything' }] },
    }),
    'POST /a2a/:agent': () => ({
      method: 'POST',
      path: `/a2a/${made.agent}`,
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'message/stream',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: 'm-1',
            parts: [{ kind: 'text', text: 'everything' }],
          },
        },
      },
    }),
    'POST /api/v1/agents/chat': () => ({
      method: 'POST',
      path: '/api/v1/agents/chat',
      body: { agent_config_id: made.agent, ...message, stream: true },
    }),
    'POST /api/v1/agents/swarm': () => ({
      method: 'POST',
      path: '/api/v1/agents/swarm',
      body: { spec_id: made.spec, ...message, stream: true },
    }),
    'POST /api/v1/agents/swarm/stream': () => ({
      method: 'POST',
      path: '/api/v1/agents/swarm/stream',
      body: { spec_id: made.spec, ...message },
    }),
  };
  /** Streams whose answer is one run: the run, not the route, is the same as chat's. */
  const sameAsChat: Record<string, string> = {
    'POST /api/v1/pools/:type/:instance_id/stream': 'replyWithRun, as POST /api/v1/agents/chat',
    'POST /api/v1/agents/swarm/dag': 'team(), the handler of POST /api/v1/agents/swarm, for DAG specs',
  };

  it('has a case for every route that streams', () => {
    const streaming = s.app.http.routeTable
      .filter((r) => [r.schema?.produces ?? []].flat().includes('text/event-stream'))
      .flatMap((r) => [r.method].flat().flatMap((m) => (m === 'HEAD' ? [] : [`${m} ${r.url}`])));
    assert.ok(streaming.length >= 7, streaming.join());
    for (const route of streaming) assert.ok(route in cases || route in sameAsChat, `no case for ${route}`);
  });

  for (const [route, make] of Object.entries(cases)) {
    it(`${route}: cut off once it stops reading, its buffers freed`, async () => {
      const c = make();
      if (c.method === 'POST') s.app.services.models.mock.script('long', [{ content }]);
      const req = http.request(`${s.url}${c.path}`, {
        method: c.method,
        headers: {
          authorization: `Bearer ${s.adminKey}`,
          ...(c.body !== undefined && { 'content-type': 'application/json' }),
        },
      });
      req.on('error', () => {});
      req.end(c.body === undefined ? undefined : JSON.stringify(c.body));
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.on('error', () => {});
      assert.equal(res.statusCode, 200, route);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      // Nothing is read from here on: no 'data' listener, the response stays paused.
      const served = responses.get(`${c.method} ${c.path}`);
      assert.ok(served, `the server's response to ${route} was seen`);
      await eventually(async () => (served.destroyed ? true : undefined), 60_000, `${route} cut off`);
      assert.ok(
        served.socket === null || served.socket.destroyed,
        'its socket is closed, its buffers with it',
      );
      res.destroy();
    });
  }
});
