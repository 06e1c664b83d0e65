/**
 * PAGI's documented calls as its README writes them (pagi-chat-desktop.md): the planner's curl
 * without a credential, `/run` as `/plan`'s alias, the BFF's echo and dashboard, the memory
 * service's latest memory, `{service}` in /health, and its PAGI_API_KEY and REQUEST_TIMEOUT_SECONDS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createApp } from '../../src/app.ts';
import { loadConfig, testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

/** An empty agentry.yaml, so only the environment given counts. */
function emptyYaml(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pagi-config-')), 'agentry.yaml');
  writeFileSync(file, '');
  return file;
}

/** Runs a curl command of the document against the server (host and port changed), JSON out. */
async function curl(s: TestServer, command: string) {
  const cmd = command.replace(/http:\/\/localhost:\d+/, s.url);
  const { stdout } = await run('bash', ['-c', `${cmd} -s -w '\\n%{http_code}'`]);
  const status = Number(stdout.slice(stdout.lastIndexOf('\n') + 1));
  const text = stdout.slice(0, stdout.lastIndexOf('\n'));
  return { status, text, body: JSON.parse(text) };
}

describe('PAGI documented calls in dev auth mode on loopback', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      auth: { mode: 'dev' },
      compat: { pagi: true, zahara: true, run_owner: 'pagi' },
    });
  });
  after(() => s.close());

  it("runs the planner's curl commands as written, without a credential", async () => {
    const quick = await curl(
      s,
      `curl -X POST http://localhost:8585/plan -H "Content-Type: application/json" -d "{\\"prompt\\":\\"Say hello and summarize system status\\",\\"session_id\\":\\"demo\\",\\"resources\\":[] }"`,
    );
    assert.equal(quick.status, 200, quick.text);
    assert.equal(quick.body.session_id, 'demo');
    const traced = await curl(
      s,
      `curl -X POST http://localhost:8585/plan -H "Content-Type: application/json" -H "X-Trace-ID: test-trace-123" -d "{\\"prompt\\":\\"Generate a 3-step plan\\",\\"session_id\\":\\"s1\\",\\"resources\\":[] }"`,
    );
    assert.equal(traced.status, 200, traced.text);
    assert.equal(traced.body.trace_id, 'test-trace-123');
  });

  it('serves /run as the alias of /plan when compat.run_owner gives it to PAGI', async () => {
    const res = await s.request('POST', '/run', {
      key: null,
      body: { prompt: 'What is 2+2?', session_id: 'alias', resources: [] },
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.result, /4/);
    assert.equal(res.body.session_id, 'alias');
  });

  it("answers the BFF's echo and dashboard and the memory service's latest memory", async () => {
    const echo = await s.request('POST', '/api/v1/echo', {
      key: null,
      body: { ping: 'pong', request_id: 'wire-1' },
    });
    assert.equal(echo.status, 200, echo.text);
    assert.deepEqual(echo.body, {
      service: 'agentry',
      received: { ping: 'pong', request_id: 'wire-1' },
      request_id: 'wire-1',
    });
    const dash = await curl(
      s,
      `curl -X GET http://localhost:8002/api/v1/agi/dashboard-data \\
  -H "X-Request-Id: test-123"`.replace(/\\\n\s*/g, ' '),
    );
    assert.equal(dash.status, 200, dash.text);
    assert.equal(dash.body.request_id, 'test-123');
    assert.deepEqual(Object.keys(dash.body.data).sort(), ['memory', 'python_agent', 'rust_sandbox']);
    const memory = await s.request('GET', '/memory/latest', { key: null });
    assert.equal(memory.status, 200, memory.text);
    assert.equal(memory.body.service, 'agentry');
    assert.ok(
      memory.body.messages.some((m: { content: string }) => m.content === 'What is 2+2?'),
      memory.text,
    );
    const health = await s.request('GET', '/health', { key: null });
    assert.equal(health.body.service, 'agentry');
  });
});

describe('PAGI with PAGI_API_KEY and REQUEST_TIMEOUT_SECONDS', () => {
  let s: TestServer;
  before(async () => {
    const config = loadConfig({
      env: { PAGI_API_KEY: 'agk_placeholder_checked_only_for_shape', REQUEST_TIMEOUT_SECONDS: '0.3' },
      file: emptyYaml(),
    }).compat;
    assert.equal(config.pagi_request_timeout_seconds, 0.3);
    s = await startServer('pglite', {
      auth: { mode: 'dev' },
      compat: { pagi: true, zahara: false, ...config },
      models: { mock: { delays: { slow: 5_000 } } },
    });
    await s.request('POST', '/v1/agents', { body: { name: 'Slow', model: 'mock/slow' } });
  });
  after(() => s.close());

  it('asks for a key when PAGI_API_KEY is set, even in dev auth mode', async () => {
    const res = await s.request('POST', '/plan', { key: null, body: { prompt: 'hi' } });
    assert.equal(res.status, 401);
    assert.match(res.body.error.message, /X-API-Key/);
  });

  it('cancels a plan past REQUEST_TIMEOUT_SECONDS with a 504', async () => {
    const res = await s.request('POST', '/plan', { body: { prompt: 'take your time', agent: 'Slow' } });
    assert.equal(res.status, 504, res.text);
  });

  it('takes an Agentry key (agk_…) as PAGI_API_KEY as it is, importing nothing', async () => {
    // PAGI's own values (any string) are imported as a pagi-scope key: test/compat/pagi-key.test.ts.
    const rows = await s.app.db.query("select id from api_keys where name = 'PAGI_API_KEY'");
    assert.equal(rows.length, 0);
  });
});

describe('the owner of /run', () => {
  it('stops the start when compat.run_owner names a family that is off', async () => {
    await assert.rejects(
      createApp(testConfig({ compat: { pagi: false, zahara: true, run_owner: 'pagi' } }), {
        log: createLogger('silent'),
      }),
      /compat\.run_owner .* gives POST \/run to pagi, but compat\.pagi is off/,
    );
  });
});
