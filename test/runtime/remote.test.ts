import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/errors.ts';
import { RemoteRuntimes } from '../../src/runtime/remote.ts';
import { fakeInternet, PUBLIC_ADDRESS } from '../helpers/internet.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { waitForStatus } from '../tasks/helpers.ts';
import { createAgent, sse } from './helpers.ts';

/** A remote agent runtime on loopback: answers by a switchable behaviour and records each request. */
async function fakeRuntime() {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: unknown }> = [];
  let behaviour: 'ok' | 'fail' | 'hang' | 'refuse' | 'redirect' | 'huge' | 'deep' = 'ok';
  let redirectTo = '';
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw);
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      if (behaviour === 'hang') return;
      if (behaviour === 'huge') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        // Streamed without a length: the cap is met while reading, not from a header.
        res.write('y'.repeat(800));
        res.end('y'.repeat(800));
        return;
      }
      if (behaviour === 'redirect') {
        res.writeHead(307, { location: redirectTo }).end();
        return;
      }
      if (behaviour === 'refuse') {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('no such task');
        return;
      }
      if (behaviour === 'deep') {
        // An answer nested 20,000 deep: JSON.stringify of it overflows the stack.
        const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"output":${deep}}`);
        return;
      }
      if (behaviour === 'fail') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('overloaded');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ output: `remote did: ${body.task}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    set: (b: typeof behaviour, to = '') => {
      behaviour = b;
      redirectTo = to;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A service on loopback that must never be read through a remote agent; counts its requests. */
async function internalService() {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('internal secret');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function allowPrivate(s: TestServer, on: boolean): Promise<void> {
  const me = await s.app.services.tenants.find(s.app.defaultTenantId);
  s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: on } } } });
}

describe('remote runtime client', () => {
  let fake: Awaited<ReturnType<typeof fakeRuntime>>;
  before(async () => {
    fake = await fakeRuntime();
  });
  after(async () => {
    await fake.close();
  });
  // An attempt's time limit covers connecting and sending too: only the test of the limit sets a
  // short one; the others' answers must not be turned into timeouts by a slow machine.
  const client = (timeout_ms = 30_000) =>
    new RemoteRuntimes({
      timeout_ms,
      max_bytes: 1024,
      retries: { max: 1, base_ms: 1, max_ms: 10 },
      breaker: { failure_threshold: 10, reset_ms: 60_000 },
    });
  const call = (c: RemoteRuntimes, path: string) =>
    c
      .run(
        `${fake.url}${path}`,
        { task: 't', parameters: {} },
        { requestId: 'r', signal: new AbortController().signal, allowPrivate: true },
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );

  it('maps a runtime that does not answer in time to 504, after its retries', async () => {
    fake.set('hang');
    const err = await call(client(150), '/slow');
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 504);
    // The attempts are the client's own count: two, each ended by its time limit.
    assert.match(err.message, /timed out after 2 attempt\(s\)/);
    // How many of them the runtime took is the machine's speed: a limit that passes before the
    // request is written ends the attempt before the runtime sees it. Never more than were made.
    // (That a retry sends the request again is counted exactly with answers: the 503 test below.)
    assert.ok(fake.seen.filter((x) => x.url === '/slow/run').length <= 2);
  });

  it('refuses an answer larger than max_bytes: 502 at once, not retried, nothing of it shown', async () => {
    fake.set('huge');
    const err = await call(client(), '/huge');
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 502);
    assert.match(err.message, /failed after 1 attempt\(s\): the answer is larger than 1024 bytes$/);
    assert.equal(fake.seen.filter((x) => x.url === '/huge/run').length, 1);
  });

  it('cuts an answer nested past the depth limit instead of failing', async () => {
    fake.set('deep');
    const c = new RemoteRuntimes({
      timeout_ms: 30_000,
      max_bytes: 100_000,
      retries: { max: 0, base_ms: 1, max_ms: 10 },
      breaker: { failure_threshold: 10, reset_ms: 60_000 },
    });
    const text = await c.run(
      `${fake.url}/deep`,
      { task: 't', parameters: {} },
      { requestId: 'r', signal: new AbortController().signal, allowPrivate: true },
    );
    assert.match(String(text), /^\[{64}"\[nested deeper than 64 levels: cut\]"\]{64}$/);
  });

  it('does not retry a runtime that refuses the task (4xx): 502 at once', async () => {
    fake.set('refuse');
    const err = await call(client(), '/refuse');
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 502);
    assert.match(err.message, /answered 400: no such task/);
    assert.equal(fake.seen.filter((x) => x.url === '/refuse/run').length, 1);
  });
});

for (const store of stores) {
  describe(`remote agents on ${store}`, () => {
    let s: TestServer;
    let fake: Awaited<ReturnType<typeof fakeRuntime>>;
    let internal: Awaited<ReturnType<typeof internalService>>;

    before(async () => {
      fake = await fakeRuntime();
      internal = await internalService();
      // public.test resolves to a public address, routed to the fake runtime; sneaky.test to loopback.
      const network = fakeInternet({ 'public.test': PUBLIC_ADDRESS, 'sneaky.test': '127.0.0.1' });
      s = await startServer(store, {}, { network });
      // The fake runtime is on loopback: the default tenant may reach private addresses.
      await allowPrivate(s, true);
    });
    after(async () => {
      await s.close();
      await fake.close();
      await internal.close();
    });

    it('a write key cannot make a remote agent read a loopback service by a name or a redirect', async () => {
      await allowPrivate(s, false);
      const key = await s.request('POST', '/v1/keys', {
        body: { name: 'writer', scopes: ['read', 'write'] },
      });
      assert.equal(key.status, 201, key.text);
      const writer = key.body.secret as string;
      const make = async (name: string, runtime_url: string) => {
        const res = await s.request('POST', '/v1/agents', {
          body: { name, env: 'remote', runtime_url },
          key: writer,
        });
        assert.equal(res.status, 201, res.text);
        return res.body as { id: string; name: string };
      };
      // Both pass creation: a name that resolves to loopback, and a public runtime that redirects there.
      const named = await make('far-named', `http://sneaky.test:${internal.port}`);
      const port = new URL(fake.url).port;
      const hop = await make('far-hop', `http://public.test:${port}/hop`);
      fake.set('redirect', `http://127.0.0.1:${internal.port}/run`);
      try {
        for (const agent of [named, hop]) {
          const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
            body: { message: 'read the internal service', stream: false },
            key: writer,
          });
          assert.equal(res.status, 502, `${agent.name}: ${res.text}`);
          assert.match(
            res.body.error.message,
            /failed after 1 attempt\(s\): .*(sneaky\.test resolves to non-public 127\.0\.0\.1|127\.0\.0\.1:\d+\/run refused: address 127\.0\.0\.1 is not a public address)/,
          );
          assert.doesNotMatch(res.text, /internal secret/);
        }
        assert.equal(fake.seen.filter((x) => x.url === '/hop/run').length, 1, 'the public runtime was asked');
        assert.equal(internal.hits(), 0, 'the loopback service never was');
      } finally {
        fake.set('ok');
        await allowPrivate(s, true);
      }
    });

    it('sends {task, parameters} with X-Request-Id to POST {runtime_url}/run and answers like chat', async () => {
      const agent = await createAgent(s, { name: 'far-ok', env: 'remote', runtime_url: `${fake.url}/ok` });
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'count the stars', context: { sky: 'north' }, stream: false },
        headers: { 'x-request-id': 'req-remote-1' },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.response.text, 'remote did: count the stars');
      const got = fake.seen.at(-1)!;
      assert.equal(got.url, '/ok/run');
      assert.deepEqual(got.body, { task: 'count the stars', parameters: { sky: 'north' } });
      assert.equal(got.headers['x-request-id'], 'req-remote-1');
      const read = await sse(`${s.url}/v1/agents/${agent.id}/chat`, {
        key: s.adminKey,
        body: { message: 'again' },
      });
      assert.deepEqual(
        read.events.map((e) => e.event),
        ['session_start', 'system', 'text', 'result', 'session_end'],
      );
    });

    it('runs a task for a remote agent on its runtime: task, payload and idempotency key sent', async () => {
      fake.set('ok');
      const agent = await createAgent(s, {
        name: 'far-tasks',
        env: 'remote',
        runtime_url: `${fake.url}/tasks`,
        task_types: [{ name: 'count', prompt_template: 'count {{payload.what}}' }],
      });
      const res = await s.request('POST', '/v1/tasks', {
        body: { agent_id: agent.id, task_type: 'count', title: 'stars', payload: { what: 'stars' } },
      });
      assert.equal(res.status, 202, res.text);
      const done = await waitForStatus(s, res.body.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', done.error_message);
      assert.equal(done.result.answer, 'remote did: count stars');
      const got = fake.seen.filter((x) => x.url === '/tasks/run');
      assert.equal(got.length, 1);
      assert.deepEqual(got[0]!.body, {
        task: 'count stars',
        parameters: { task_id: res.body.id, task_type: 'count', payload: { what: 'stars' } },
      });
      assert.equal(got[0]!.headers['idempotency-key'], `task:${res.body.id}`);
    });

    it("a remote agent's task obeys the SSRF rules: no private runtime without the tenant's switch", async () => {
      const agent = await createAgent(s, {
        name: 'far-task-private',
        env: 'remote',
        runtime_url: `${fake.url}/private`,
      });
      await allowPrivate(s, false);
      try {
        const res = await s.request('POST', '/v1/tasks', {
          body: { agent_id: agent.id, task_type: 'default', title: 'sneak', max_attempts: 1 },
        });
        const failed = await waitForStatus(s, res.body.id, ['completed', 'failed']);
        assert.equal(failed.status, 'failed');
        assert.match(failed.error_message, /not a public address/);
        assert.equal(fake.seen.filter((x) => x.url === '/private/run').length, 0);
      } finally {
        await allowPrivate(s, true);
      }
    });

    it('retries a failing runtime, answers 502, then its breaker opens: 503 without calling it', async () => {
      fake.set('fail');
      const agent = await createAgent(s, { name: 'far-bad', env: 'remote', runtime_url: `${fake.url}/bad` });
      const hits = () => fake.seen.filter((x) => x.url === '/bad/run').length;
      const first = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'one', stream: false },
      });
      assert.equal(first.status, 502, first.text);
      assert.match(first.body.error.message, /failed after 3 attempt\(s\): answered 503: overloaded/);
      assert.equal(hits(), 3, 'one attempt and two retries');
      // Five endpoint failures open the breaker (failure_threshold 5): the second chat gets two tries.
      const second = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'two', stream: false },
      });
      assert.equal(second.status, 503, second.text);
      assert.match(second.body.error.message, /circuit breaker is open/);
      assert.equal(hits(), 5);
      const third = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'three', stream: false },
      });
      assert.equal(third.status, 503, third.text);
      assert.ok(Number(third.headers.get('retry-after')) >= 1);
      assert.equal(hits(), 5, 'an open breaker does not call the runtime');
      const run = await s.request('GET', `/v1/runs/${third.body.error.details.run_id}`);
      assert.equal(run.body.status, 'failed');
      assert.equal(run.body.error.code, 'unavailable');
      // Another runtime is not affected by this one's breaker.
      fake.set('ok');
      const other = await createAgent(s, {
        name: 'far-other',
        env: 'remote',
        runtime_url: `${fake.url}/other`,
      });
      const fine = await s.request('POST', `/v1/agents/${other.id}/chat`, {
        body: { message: 'fine', stream: false },
      });
      assert.equal(fine.status, 200, fine.text);
    });

    it('refuses private runtime URLs at creation without the policy switch, and again at call time', async () => {
      await allowPrivate(s, false);
      try {
        for (const url of [
          'http://localhost./x',
          'http://LOCALHOST/x',
          'http://127.1/x',
          'http://2130706433/x',
          'http://0x7f000001/x',
          'http://0177.0.0.1/x',
          'http://[::ffff:127.0.0.1]/x',
          'http://[::1]/x',
          'http://169.254.169.254/latest',
          'http://metadata.google.internal./x',
          fake.url,
        ]) {
          const res = await s.request('POST', '/v1/agents', {
            body: { name: `far-${Math.random().toString(36).slice(2, 8)}`, env: 'remote', runtime_url: url },
          });
          assert.equal(res.status, 400, `${url}: ${res.text}`);
          assert.match(res.body.error.message, /runtime_url refused/);
        }
        // An agent made while the switch was on is refused when it is used after the switch is off:
        // the loopback answer never reaches the chat.
        await allowPrivate(s, true);
        const agent = await createAgent(s, {
          name: 'far-later',
          env: 'remote',
          runtime_url: `${fake.url}/ok`,
        });
        await allowPrivate(s, false);
        const before = fake.seen.length;
        const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
          body: { message: 'read the internal service', stream: false },
        });
        assert.equal(res.status, 502, res.text);
        assert.match(res.body.error.message, /refused/);
        assert.doesNotMatch(res.text, /remote did/);
        assert.equal(fake.seen.length, before, 'the loopback runtime got no request');
        const patch = await s.request('PATCH', `/v1/agents/${agent.id}`, {
          body: { runtime_url: 'http://[::ffff:7f00:1]/' },
        });
        assert.equal(patch.status, 400, patch.text);
      } finally {
        await allowPrivate(s, true);
      }
    });

    it('refuses a remote agent without runtime_url with 422', async () => {
      const agent = await createAgent(s, { name: 'far-nowhere', env: 'remote' });
      const res = await s.request('POST', `/v1/agents/${agent.id}/chat`, {
        body: { message: 'x', stream: false },
      });
      assert.equal(res.status, 422, res.text);
      assert.match(res.body.error.message, /no runtime_url/);
    });
  });
}
