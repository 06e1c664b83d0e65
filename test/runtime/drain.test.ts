import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/config.ts';
import { durableSuite, kill, type ServerProcess, say, spawnServer } from './durable-helpers.ts';
import { call, eventually, persistentStore, sse } from './helpers.ts';

/**
 * Graceful shutdown of a real server process (SIGTERM) with clients attached: a keep-alive client
 * whose idle connection the server holds, and an open event stream. The process answers 503 with
 * Retry-After and `Connection: close` while it drains, ends the stream, releases the run it could
 * not finish within the drain timeout, and exits 0; the other process carries the run on and the
 * run's stream holds one result.
 */

const { upstream, backend, dir } = durableSuite('agentry-drain-');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET through `agent` (a keep-alive pool) or on a connection of its own. */
function get(url: string, key: string, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A connection reset is "not yet" for a poll; any other error fails it. */
function resetIsRetry(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ECONNRESET') return undefined;
  throw err;
}

describe('graceful shutdown with clients attached (postgres)', { skip: !process.env.DATABASE_URL }, () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let drop = async () => {};

  before(async () => {
    const { config: store, drop: d } = await persistentStore('postgres', dir);
    drop = d;
    const config = (runtime: ConfigInput['runtime']): ConfigInput => ({
      store,
      server: { host: '127.0.0.1', port: 0, shutdown_grace_seconds: 30, max_event_loop_delay_ms: 0 },
      credentials_file: path.join(dir, 'credentials.json'),
      // A lease far longer than the test: only the release lets the other process in.
      runtime: { lease_seconds: 600, workspaces_dir: path.join(dir, 'ws'), ...runtime },
      models: { providers: { up: { type: 'openai', base_url: `${upstream.url}/v1` } } },
    });
    a = await spawnServer(config({ drain_seconds: 3 }), backend.url);
    b = await spawnServer(config({}), backend.url);
  });
  after(async () => {
    await kill(a);
    await kill(b);
    await drop();
  });

  it('answers 503 while draining, ends its streams, releases the run at the drain timeout and exits 0', async () => {
    const key = a.key;
    const from = upstream.seen.length;
    // The first model call never answers: the run cannot reach a step boundary within the drain.
    upstream.answer({ hang: true }, say('carried on'));
    const agent = await call(a.url, key, 'POST', '/v1/agents', { name: 'slow', model: 'up/m' });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));

    // A keep-alive client: its connection stays open and idle in its pool.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(`${a.url}/v1/agents`, key, keepAlive);
    assert.equal(before.status, 200);

    // An open stream, following the run live.
    let runId = '';
    const chat = sse(`${a.url}/v1/agents/${agent.body.id}/chat`, {
      key,
      body: { message: 'take your time' },
    });
    await eventually(async () => (upstream.seen.length > from ? true : undefined));
    const listed = await call(a.url, key, 'GET', '/v1/runs?limit=1');
    runId = listed.body.data[0].id;

    a.child.kill('SIGTERM');
    // During the drain: a new connection and the keep-alive one are both told to come back later.
    // A connection the server accepted just as the drain began has sent no request yet, so it is
    // idle and closed with the others: its client tries again, as any client of a draining server.
    const refused = await eventually(async () => {
      const r = await get(`${a.url}/v1/agents`, key, false).catch(resetIsRetry);
      return r?.status === 503 ? r : undefined;
    });
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers.connection, 'close');
    assert.equal(JSON.parse(refused.body).error.code, 'unavailable');
    // Its idle connection was closed when the drain began; once the client has seen that, its next
    // request goes on a new connection (asking before would race the close on the old one).
    await eventually(async () =>
      Object.values(keepAlive.freeSockets).every((free) => !free?.length) ? true : undefined,
    );
    const reused = await get(`${a.url}/v1/agents`, key, keepAlive);
    assert.equal(reused.status, 503);
    assert.equal(reused.headers.connection, 'close');

    assert.equal(await a.exited, 0, 'a drained process exits 0');
    keepAlive.destroy();
    // The stream ended cleanly (no reset): its reader saw the end, not an error.
    const first = await chat;
    assert.equal(first.status, 200);
    assert.ok(first.events.length > 0);

    const done = await eventually(
      async () => {
        const r = await call(b.url, key, 'GET', `/v1/runs/${runId}`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      },
      30_000,
      `run ${runId}`,
    );
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.output, 'carried on');
    assert.equal(
      upstream.seen.length - from,
      2,
      'the unanswered call is asked once more, by the other process',
    );

    // The client resumes at the other process with no gap and no repeat, and sees one result.
    const rest = await sse(`${b.url}/v1/runs/${runId}/stream`, {
      key,
      headers: { 'last-event-id': first.events.at(-1)!.id },
    });
    const whole = await sse(`${b.url}/v1/runs/${runId}/stream`, { key });
    assert.deepEqual(
      [...first.events, ...rest.events].map((e) => e.id),
      whole.events.map((e) => e.id),
    );
    assert.equal(whole.events.filter((e) => e.event === 'result').length, 1, 'one result event');
    assert.equal(whole.events.filter((e) => e.event === 'session_end').length, 1);
  });
});
