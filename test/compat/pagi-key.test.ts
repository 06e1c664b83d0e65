/**
 * PAGI_API_KEY as PAGI's deployments set it (pagi-chat-desktop.md: any string, in `.env`): a PAGI
 * desktop configured with that value sends it as X-API-Key and keeps working. The server keeps it
 * as a key of the default tenant with the `pagi` scope: stored by its hash only, opening PAGI's
 * routes and no other, replaced when the variable changes and revoked when it is unset.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app.ts';
import { loadConfig, testConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

/** A value as PAGI's `.env` has it: no Agentry key. */
const pagiValue = 'pagi-desktop-shared-secret';
const plan = { prompt: 'What is 2+2?', session_id: 'desk', resources: [] };

function emptyYaml(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pagi-key-')), 'agentry.yaml');
  writeFileSync(file, '');
  return file;
}

for (const store of stores) {
  describe(`PAGI_API_KEY with a value of PAGI on ${store}`, () => {
    let s: TestServer;
    const asPagi = { key: null, headers: { 'x-api-key': pagiValue } };
    before(async () => {
      const { compat } = loadConfig({ env: { PAGI_API_KEY: pagiValue }, file: emptyYaml() });
      assert.equal(compat.pagi_api_key, pagiValue);
      s = await startServer(store, {
        auth: { mode: 'dev' },
        compat: { ...compat, pagi: true, zahara: true },
      });
    });
    after(() => s.close());

    it("opens PAGI's routes sent as X-API-Key (or as a bearer), as PAGI's desktop sends it", async () => {
      const res = await s.request('POST', '/plan', { ...asPagi, body: plan });
      assert.equal(res.status, 200, res.text);
      assert.match(res.body.result, /4/);
      const memory = await s.request('GET', '/memory/latest', asPagi);
      assert.equal(memory.status, 200, memory.text);
      assert.ok(
        memory.body.messages.some((m: { content: string }) => m.content === plan.prompt),
        memory.text,
      );
      const generated = await s.request('POST', '/api/v1/plan', { ...asPagi, body: { prompt: 'hello' } });
      assert.equal(generated.status, 200, generated.text);
      const echo = await s.request('POST', '/api/v1/echo', { ...asPagi, body: { ping: 1 } });
      assert.equal(echo.status, 200, echo.text);
      assert.equal((await s.request('GET', '/api/v1/agi/dashboard-data', asPagi)).status, 200);
      const bearer = await s.request('POST', '/plan', { key: pagiValue, body: plan });
      assert.equal(bearer.status, 200, bearer.text);
    });

    it('still asks a request without it for a credential, and refuses another value', async () => {
      const none = await s.request('POST', '/plan', { key: null, body: plan });
      assert.equal(none.status, 401, none.text);
      const wrong = await s.request('POST', '/plan', {
        key: null,
        headers: { 'x-api-key': 'guess' },
        body: plan,
      });
      assert.equal(wrong.status, 401, wrong.text);
      assert.equal(wrong.body.error.code, 'unauthorized');
    });

    it("is refused on every route that is not PAGI's, saying what it reaches", async () => {
      for (const [method, url, body] of [
        ['GET', '/v1/agents', undefined],
        ['POST', '/v1/agents', { name: 'sneaky', model: 'mock/echo' }],
        ['GET', '/v1/keys', undefined],
        ['GET', '/v1/sessions', undefined],
        ['POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' }],
      ] as const) {
        const res = await s.request(method, url, { ...asPagi, body });
        assert.equal(res.status, 403, `${method} ${url}: ${res.text}`);
        assert.equal(res.body.error.code, 'forbidden');
        assert.match(res.body.error.message, /PAGI's routes only/);
        assert.ok(res.body.request_id);
      }
      // Zahara's routes answer in Zahara's error body, with the same refusal.
      const zahara = await s.request('POST', '/execute', { ...asPagi, body: { task: 'hi' } });
      assert.equal(zahara.status, 403, zahara.text);
      assert.match(zahara.body.error, /PAGI's routes only/);
      // A public route that reads credentials when sent answers it as it answers no one.
      const templates = await s.request('GET', '/v1/templates', asPagi);
      assert.equal(templates.status, 200, templates.text);
      const metrics = await s.request('GET', '/metrics', asPagi);
      assert.equal(metrics.status, 403, metrics.text);
    });

    it('keeps only its hash, under a prefix that shows nothing of it, listed as PAGI_API_KEY', async () => {
      const { db } = s.app;
      const rows = await db.query<Record<string, unknown>>('select * from api_keys');
      const journal = await db.query<Record<string, unknown>>('select * from journal');
      const stored = JSON.stringify([rows, journal]);
      assert.ok(!stored.includes(pagiValue), 'the value is nowhere in the store');
      const row = rows.find((r) => r.name === 'PAGI_API_KEY');
      assert.ok(row, stored);
      assert.equal(row.hash, createHash('sha256').update(pagiValue).digest('hex'));
      assert.deepEqual(row.scopes, ['pagi']);
      assert.match(String(row.prefix), /^env_[0-9a-f]{12}$/);
      const listed = await s.request('GET', '/v1/keys');
      assert.equal(listed.status, 200, listed.text);
      const key = listed.body.data.find((k: { name: string }) => k.name === 'PAGI_API_KEY');
      assert.deepEqual(key.scopes, ['pagi']);
    });
  });
}

it('never repeats PAGI_API_KEY in the error for a value it cannot take', () => {
  const long = `pagi-${'x'.repeat(5000)}`;
  assert.throws(
    () => loadConfig({ env: { PAGI_API_KEY: long }, file: emptyYaml() }),
    (err: Error) => /PAGI_API_KEY: compat\.pagi_api_key/.test(err.message) && !err.message.includes(long),
  );
});

describe('PAGI_API_KEY rotated by changing the variable', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagi-rotate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the server on the same store with PAGI_API_KEY as given, and plans with each value. */
  async function startWith(value: string | undefined, tries: string[]): Promise<Record<string, number>> {
    const app = await createApp(
      testConfig({
        log_level: 'silent',
        ops_team: { seed: false },
        auth: { mode: 'keys' },
        store: { data_dir: path.join(dir, 'data') },
        sandbox: { pools: { bwrap: { size: 0 }, quickjs: { size: 0 } } },
        compat: { pagi: true, zahara: false, pagi_api_key: value },
      }),
      { log: createLogger('silent') },
    );
    try {
      const url = await app.http.listen({ host: '127.0.0.1', port: 0 });
      const seen: Record<string, number> = {};
      for (const tried of tries) {
        const res = await fetch(`${url}/api/v1/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': tried },
          body: '{"ping": "rotate"}',
        });
        seen[tried] = res.status;
      }
      return seen;
    } finally {
      await app.close();
    }
  }

  it('revokes the old value at the start that brings a new one, and both when it is unset', async () => {
    assert.deepEqual(await startWith('first-value', ['first-value']), { 'first-value': 200 });
    assert.deepEqual(await startWith('first-value', ['first-value']), { 'first-value': 200 });
    assert.deepEqual(await startWith('second-value', ['first-value', 'second-value']), {
      'first-value': 401,
      'second-value': 200,
    });
    assert.deepEqual(await startWith(undefined, ['second-value']), { 'second-value': 401 });
  });
});
