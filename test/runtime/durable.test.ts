import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/config.ts';
import { askTools, durableSuite, kill, type ServerProcess, say, spawnServer } from './durable-helpers.ts';
import { call, eventually, persistentStore, sse } from './helpers.ts';

/**
 * Durable runs with real server processes (docs/durability.md): a process is SIGKILLed while a run
 * holds a model call or a tool call, and another process (on PostgreSQL; on the embedded store, the
 * restarted one) carries the run on from its last recorded step. The model upstream and the tools'
 * far side are real HTTP servers on loopback run by this test, so they count what every process did.
 */

const { upstream, backend, dir } = durableSuite('agentry-durable-');

const config = (store: ConfigInput['store'], runtime: ConfigInput['runtime'] = {}): ConfigInput => ({
  store,
  // No backpressure 503s on a loaded test machine (as test/helpers/server.ts).
  server: { host: '127.0.0.1', port: 0, shutdown_grace_seconds: 30, max_event_loop_delay_ms: 0 },
  credentials_file: path.join(dir, 'credentials.json'),
  runtime: { lease_seconds: 2, workspaces_dir: path.join(dir, 'ws'), ...runtime },
  models: { providers: { up: { type: 'openai', base_url: `${upstream.url}/v1` } } },
});

/** As `config`, with the mock's `mock/slow` waiting before every answer. */
const slowConfig = (store: ConfigInput['store']): ConfigInput => ({
  ...config(store),
  models: { ...config(store).models, mock: { delays: { slow: 3000 } } },
});

/** The model requests seen since `from`. */
const requests = (from: number) => upstream.seen.slice(from);

async function runOf(url: string, key: string, runId: string, until: (status: string) => boolean) {
  return eventually(
    async () => {
      const r = await call(url, key, 'GET', `/v1/runs/${runId}`);
      // 503 (a loaded machine's backpressure) is asked again.
      return r.status === 200 && until(r.body.status) ? r.body : undefined;
    },
    30_000,
    `run ${runId}`,
  );
}

/**
 * A run's second model call hangs; the process dies. The one that takes the run over does not ask
 * the first question again, reuses the recorded tool result, and a client that follows the stream
 * from the dead process to the live one sees every event once.
 */
async function modelCallTakeover(start: () => Promise<ServerProcess>, next: () => Promise<ServerProcess>) {
  const from = upstream.seen.length;
  upstream.answer(askTools({ id: 'calc_1', name: 'calculator', args: { expression: '6 * 7' } }), {
    hang: true,
  });
  const a = await start();
  const key = a.key;
  const agent = await call(a.url, key, 'POST', '/v1/agents', {
    name: `steady-${from}`,
    model: 'up/m',
    tools: ['calculator'],
  });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  const first = await sse(`${a.url}/v1/agents/${agent.body.id}/chat`, {
    key,
    body: { message: 'what is 6 * 7?' },
    stop: (e) => e.event === 'tool_result',
  });
  const runId = first.events[0]!.data.run_id as string;
  await eventually(async () => (requests(from).length === 2 ? true : undefined));
  upstream.answer(say('it is 42'));
  await kill(a);

  const b = await next();
  const rest = await sse(`${b.url}/v1/runs/${runId}/stream`, {
    key,
    headers: { 'last-event-id': first.events.at(-1)!.id },
  });
  assert.ok(rest.done, JSON.stringify(rest));
  assert.ok(rest.events.some((e) => e.event === 'run_resumed'));
  const replay = await sse(`${b.url}/v1/runs/${runId}/stream`, { key });
  // No gap, no repeat: the two halves make the whole stream.
  assert.deepEqual(
    [...first.events, ...rest.events].map((e) => e.id),
    replay.events.map((e) => e.id),
  );
  const run = (await call(b.url, key, 'GET', `/v1/runs/${runId}`)).body;
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.equal(run.output, 'it is 42');
  // One answered call, one that hung when the process died, one by the process that took over.
  const seen = requests(from);
  assert.equal(seen.length, 3);
  assert.deepEqual(seen[2]!.body.messages, seen[1]!.body.messages, 'the unanswered call is asked again');
  assert.equal(seen[2]!.body.messages.at(-1).role, 'tool');
  assert.equal(seen[2]!.body.messages.at(-1).content, '42');
  assert.equal(run.steps.filter((s: { kind: string }) => s.kind === 'tool').length, 1);
  assert.equal(run.steps.filter((s: { kind: string }) => s.kind === 'model').length, 2);
  return b;
}

/**
 * The server's own slow mock model (`models.mock.delays`) runs a tool step, then takes its time over
 * the next model step; the process is SIGKILLed in it. The one that carries the run on starts from
 * the last recorded step: the recorded model and tool steps stand as they were, the write (not
 * idempotent, so a second call would show) is not made again, and the run finishes.
 */
async function slowMockTakeover(start: () => Promise<ServerProcess>, next: () => Promise<ServerProcess>) {
  const writes = backend.count('hold_write');
  const a = await start();
  const key = a.key;
  const agent = await call(a.url, key, 'POST', '/v1/agents', {
    name: `slow-${writes}-${Date.now()}`,
    model: 'mock/slow',
    tools: ['hold_write'],
  });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  const first = await sse(`${a.url}/v1/agents/${agent.body.id}/chat`, {
    key,
    body: { message: 'use the hold_write tool with "s1"' },
    stop: (e) => e.event === 'tool_result',
  });
  const runId = first.events[0]!.data.run_id as string;
  const recorded = await eventually(async () => {
    const r = await call(a.url, key, 'GET', `/v1/runs/${runId}`);
    return r.status === 200 && r.body.steps.some((s: { kind: string }) => s.kind === 'tool')
      ? r.body
      : undefined;
  });
  // The second model step is in flight (the mock waits before it answers) when the process dies.
  assert.equal(recorded.status, 'running');
  assert.deepEqual(
    recorded.steps.map((s: { kind: string }) => s.kind),
    ['model', 'tool'],
  );
  assert.equal(backend.count('hold_write'), writes + 1);
  await kill(a);

  const b = await next();
  const run = await runOf(b.url, key, runId, (s) => s !== 'running');
  assert.equal(run.status, 'completed', JSON.stringify(run.error));
  assert.equal(run.output, 'The hold_write tool returned: hold_write s1 done');
  assert.equal(backend.count('hold_write'), writes + 1, 'the recorded write is not made again');
  assert.deepEqual(
    run.steps.map((s: { kind: string }) => s.kind),
    ['model', 'tool', 'model'],
  );
  assert.deepEqual(run.steps.slice(0, 2), recorded.steps, 'the recorded steps are not run again');
  return b;
}

describe('durable runs on pglite (one process, restarted)', () => {
  let current: ServerProcess | undefined;
  after(async () => kill(current));

  it('carries a run on after a SIGKILL from its last recorded step when the process starts again', async () => {
    const store = { data_dir: path.join(dir, 'pglite') };
    let key = '';
    current = await modelCallTakeover(
      async () => {
        const a = await spawnServer(config(store), backend.url);
        key = a.key;
        return a;
      },
      async () => ({ ...(await spawnServer(config(store), backend.url)), key }),
    );
  });

  it('resumes a slow mock model step in flight at a SIGKILL from the last recorded step', async () => {
    await kill(current);
    const store = { data_dir: path.join(dir, 'pglite-slow') };
    let key = '';
    current = await slowMockTakeover(
      async () => {
        const a = await spawnServer(slowConfig(store), backend.url);
        key = a.key;
        return a;
      },
      async () => ({ ...(await spawnServer(slowConfig(store), backend.url)), key }),
    );
  });
});

describe('durable runs on postgres (a second process takes over)', {
  skip: !process.env.DATABASE_URL,
}, () => {
  let b: ServerProcess;
  let a: ServerProcess | undefined;
  let store: ConfigInput['store'];
  let drop = async () => {};
  let key = '';
  const startA = async (runtime: ConfigInput['runtime'] = {}) => {
    a = await spawnServer(config(store, runtime), backend.url);
    return a;
  };

  before(async () => {
    ({ config: store, drop } = await persistentStore('postgres', dir));
    const first = await startA();
    key = first.key;
    b = await spawnServer(config(store), backend.url);
  });
  after(async () => {
    await kill(a);
    await kill(b);
    await drop();
  });

  const chat = async (agent: Record<string, unknown>, message: string) => {
    const created = await call(a!.url, key, 'POST', '/v1/agents', { model: 'up/m', ...agent });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const read = await sse(`${a!.url}/v1/agents/${created.body.id}/chat`, {
      key,
      body: { message },
      stop: (e) => e.event === 'system',
    });
    return read.events[0]!.data.run_id as string;
  };

  it('takes over a run whose model call was in flight: no answered call is sent again', async () => {
    await kill(a);
    await modelCallTakeover(
      async () => ({ ...(await startA()), key }),
      async () => b,
    );
  });

  it('resumes a slow mock model step in flight at a SIGKILL from the last recorded step', async () => {
    await kill(a);
    await slowMockTakeover(
      async () => {
        a = await spawnServer(slowConfig(store), backend.url);
        return { ...a, key };
      },
      async () => b,
    );
  });

  it('runs an idempotent tool call that was in flight again, and asks the model nothing twice', async () => {
    const from = upstream.seen.length;
    backend.hold('hold_read');
    upstream.answer(askTools({ id: 'read_1', name: 'hold_read', args: { key: 'r1' } }), say('read it'));
    await startA();
    const runId = await chat({ name: 'reader', tools: ['hold_read'] }, 'read r1');
    await eventually(async () => (backend.count('hold_read') === 1 ? true : undefined));
    await kill(a);
    backend.release('hold_read');
    const run = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    assert.equal(run.output, 'read it');
    assert.equal(backend.count('hold_read'), 2, 'run again: the tool is idempotent');
    assert.equal(requests(from).length, 2);
    const tools = run.steps.filter((s: { kind: string }) => s.kind === 'tool');
    assert.deepEqual(
      tools.map((s: { output: unknown }) => s.output),
      ['hold_read r1 done'],
    );
  });

  it('stops a run whose non-idempotent tool call was in flight as interrupted; resume completes it', async () => {
    const from = upstream.seen.length;
    const writes = backend.count('hold_write');
    backend.hold('hold_write');
    upstream.answer(
      askTools(
        { id: 'calc_2', name: 'calculator', args: { expression: '1 + 1' } },
        { id: 'write_1', name: 'hold_write', args: { key: 'w1' } },
      ),
      say('wrote it'),
    );
    await startA();
    const runId = await chat({ name: 'writer', tools: ['calculator', 'hold_write'] }, 'write w1');
    // The calculator's result is recorded on its own while the write is still in flight.
    await eventually(async () => {
      const r = await call(a!.url, key, 'GET', `/v1/runs/${runId}`);
      return backend.count('hold_write') === writes + 1 &&
        r.body.steps.some((s: { kind: string }) => s.kind === 'tool')
        ? true
        : undefined;
    });
    await kill(a);
    const stopped = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(stopped.status, 'interrupted');
    assert.deepEqual(stopped.error, {
      code: 'interrupted',
      message: 'interrupted during tool hold_write; not idempotent',
    });
    assert.deepEqual(stopped.pending_tool_calls, [
      { id: 'write_1', name: 'hold_write', arguments: { key: 'w1' } },
    ]);
    assert.equal(backend.count('hold_write'), writes + 1, 'not run again without a person');

    backend.release('hold_write');
    const resumed = await call(b.url, key, 'POST', `/v1/runs/${runId}/resume`);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.status, 'running');
    const done = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(backend.count('hold_write'), writes + 2);
    const tools = done.steps.filter((s: { kind: string }) => s.kind === 'tool');
    assert.deepEqual(tools.map((s: { name: string }) => s.name).sort(), ['calculator', 'hold_write']);
    assert.equal(requests(from).length, 2);
    const again = await call(b.url, key, 'POST', `/v1/runs/${runId}/resume`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'conflict');
    assert.match(again.body.error.message, /is completed, not interrupted/);
  });

  it('cancels an interrupted run: the recorded call is shown with its arguments and never run again', async () => {
    const from = upstream.seen.length;
    const writes = backend.count('hold_write');
    backend.hold('hold_write');
    upstream.answer(askTools({ id: 'write_2', name: 'hold_write', args: { key: 'w2', note: 'once' } }));
    await startA();
    const runId = await chat({ name: 'writer-cancelled', tools: ['hold_write'] }, 'write w2');
    await eventually(async () => (backend.count('hold_write') === writes + 1 ? true : undefined));
    await kill(a);
    backend.release('hold_write');
    const stopped = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(stopped.status, 'interrupted');
    assert.equal(stopped.error.message, 'interrupted during tool hold_write; not idempotent');
    // What a person decides on: the call as the model asked for it, arguments and all.
    assert.deepEqual(stopped.pending_tool_calls, [
      { id: 'write_2', name: 'hold_write', arguments: { key: 'w2', note: 'once' } },
    ]);
    // An interrupted run's stream stays open: it goes on if the run is resumed.
    const interrupted = (
      await sse(`${b.url}/v1/runs/${runId}/stream`, { key, stop: (e) => e.event === 'interrupted' })
    ).events;
    assert.deepEqual(interrupted.find((e) => e.event === 'interrupted')?.data.tool_calls, [
      { id: 'write_2', name: 'hold_write', arguments: { key: 'w2', note: 'once' } },
    ]);

    const cancelled = await call(b.url, key, 'POST', `/v1/runs/${runId}/cancel`, { reason: 'not wanted' });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, 'cancelled');
    assert.deepEqual(cancelled.body.error, { code: 'cancelled', message: 'not wanted' });
    const stream = await sse(`${b.url}/v1/runs/${runId}/stream`, { key });
    assert.equal(stream.events.at(-1)!.event, 'session_end');
    assert.equal(stream.events.at(-1)!.data.status, 'cancelled');
    // Cancelled is final: no resume, no second cancel, and the write never ran a second time.
    const resume = await call(b.url, key, 'POST', `/v1/runs/${runId}/resume`);
    assert.equal(resume.status, 409);
    const again = await call(b.url, key, 'POST', `/v1/runs/${runId}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(backend.count('hold_write'), writes + 1);
    assert.equal(requests(from).length, 1, 'the model is not asked again');
  });

  it('keeps a run waiting for approval through a SIGKILL; another process approves it', async () => {
    upstream.answer(
      askTools({ id: 'file_1', name: 'write_file', args: { path: 'ok.txt', content: 'approved' } }),
      say('written'),
    );
    await startA();
    const created = await call(a!.url, key, 'POST', '/v1/agents', {
      name: 'careful',
      model: 'up/m',
      mode: 'COLLABORATIVE',
      tools: ['write_file'],
    });
    const read = await sse(`${a!.url}/v1/agents/${created.body.id}/chat`, {
      key,
      body: { message: 'write ok.txt' },
      stop: (e) => e.event === 'approval_required',
    });
    const runId = read.events[0]!.data.run_id as string;
    const sessionId = read.events[0]!.data.session_id as string;
    await kill(a);
    assert.equal((await call(b.url, key, 'GET', `/v1/runs/${runId}`)).body.status, 'input_required');
    const approve = await call(b.url, key, 'POST', `/v1/runs/${runId}/approve`);
    assert.equal(approve.status, 200, JSON.stringify(approve.body));
    const done = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const written = readdirSync(path.join(dir, 'ws'))
      .map((tenant) => path.join(dir, 'ws', tenant, sessionId, 'ok.txt'))
      .filter((f) => existsSync(f));
    assert.deepEqual(
      written.map((f) => readFileSync(f, 'utf8')),
      ['approved'],
    );
  });

  it('drains on SIGTERM: the run stops at a step boundary, exits 0, and the other process continues at once', async () => {
    const from = upstream.seen.length;
    upstream.answer(
      { ...askTools({ id: 'calc_3', name: 'calculator', args: { expression: '2 + 3' } }), delayMs: 1500 },
      say('five'),
    );
    // A lease far longer than this test may take: only the release lets the other process in.
    await startA({ lease_seconds: 600, drain_seconds: 20 });
    const runId = await chat({ name: 'drained', tools: ['calculator'] }, 'add');
    await eventually(async () => (requests(from).length === 1 ? true : undefined));
    a!.child.kill('SIGTERM');
    assert.equal(await a!.exited, 0);
    const done = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.output, 'five');
    assert.equal(requests(from).length, 2, 'the answer the drained process got is not asked for again');
  });

  it('resumes a swarm with the member that had the conversation: the one before it is not asked again', async () => {
    const from = upstream.seen.length;
    upstream.answer(askTools({ id: 'hand_1', name: 'transfer_to_beta', args: { reason: 'yours' } }), {
      hang: true,
    });
    await startA();
    const alpha = await call(a!.url, key, 'POST', '/v1/agents', {
      name: 'alpha',
      model: 'up/alpha',
      handoffs: ['beta'],
    });
    const beta = await call(a!.url, key, 'POST', '/v1/agents', { name: 'beta', model: 'up/beta' });
    const spec = await call(a!.url, key, 'POST', '/v1/multi-agents', {
      name: 'relay',
      kind: 'swarm',
      members: [alpha.body.id, beta.body.id],
    });
    assert.equal(spec.status, 201, JSON.stringify(spec.body));
    const read = await sse(`${a!.url}/v1/multi-agents/${spec.body.id}/run`, {
      key,
      body: { message: 'help' },
      stop: (e) => e.event === 'system',
    });
    const runId = read.events[0]!.data.run_id as string;
    await eventually(async () => (requests(from).length === 2 ? true : undefined));
    upstream.answer(say('beta here'));
    await kill(a);
    const done = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.output, 'beta here');
    assert.deepEqual(
      requests(from).map((r) => r.body.model),
      ['alpha', 'beta', 'beta'],
    );
  });

  it('resumes a DAG per node: a finished node is not run again', async () => {
    const from = upstream.seen.length;
    upstream.answer(say('first out'), { hang: true });
    await startA();
    const ids: string[] = [];
    for (const name of ['first', 'second']) {
      const r = await call(a!.url, key, 'POST', '/v1/agents', { name: `dag-${name}`, model: `up/${name}` });
      ids.push(r.body.id);
    }
    const spec = await call(a!.url, key, 'POST', '/v1/multi-agents', {
      name: 'two-steps',
      kind: 'dag',
      members: ids,
      edges: [{ from: ids[0], to: ids[1] }],
    });
    assert.equal(spec.status, 201, JSON.stringify(spec.body));
    const read = await sse(`${a!.url}/v1/multi-agents/${spec.body.id}/run`, {
      key,
      body: { message: 'go' },
      stop: (e) => e.event === 'system',
    });
    const runId = read.events[0]!.data.run_id as string;
    await eventually(async () => (requests(from).length === 2 ? true : undefined));
    upstream.answer(say('second out'));
    await kill(a);
    const done = await runOf(b.url, key, runId, (s) => s !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.output, 'second out');
    const models = requests(from).map((r) => r.body.model);
    assert.deepEqual(models, ['first', 'second', 'second']);
  });
});
