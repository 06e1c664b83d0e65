/**
 * DNS-rebinding and cross-origin protection on every route (MCP transport spec: servers validate
 * Origin; a local server must not be driven by a web page whose name was re-pointed at it). A
 * foreign Host or Origin is a 403 in the error format, before credentials are looked at.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hostRule, isLoopbackBind } from '../../src/http/plugins/host-guard.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

describe('host guard', () => {
  let s: TestServer;
  let port: string;
  before(async () => {
    s = await startServer('pglite', {
      server: {
        allowed_hosts: ['agentry.internal', '*.corp.example'],
        allowed_origins: ['https://app.example'],
      },
    });
    port = new URL(s.url).port;
  });
  after(() => s.close());

  const mcp = (headers: Record<string, string>) =>
    rawRequest(`${s.url}/mcp`, {
      method: 'POST',
      body: initialize,
      headers: {
        authorization: `Bearer ${s.adminKey}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
    });

  it('refuses a rebound name in Host and Origin on /mcp, before looking at credentials', async () => {
    const r = await mcp({ host: 'evil.example', origin: 'http://evil.example' });
    assert.equal(r.status, 403, r.text);
    assert.equal(JSON.parse(r.text).error.code, 'forbidden');
    assert.match(JSON.parse(r.text).error.message, /allowed_hosts/);
    const anonymous = await rawRequest(`${s.url}/v1/agents`, { headers: { host: `evil.example:${port}` } });
    assert.equal(anonymous.status, 403, 'refused before the 401');
  });

  it('answers localhost, IP addresses and the listed names', async () => {
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      'agentry.internal',
      'a.corp.example:8443',
    ]) {
      const r = await mcp({ host, origin: `http://${host}` });
      assert.equal(r.status, 200, `${host}: ${r.text}`);
    }
    const unlisted = await mcp({ host: 'corp.example.evil.example' });
    assert.equal(unlisted.status, 403);
  });

  it("refuses another site's page on a good host, and takes the listed origins", async () => {
    const host = `127.0.0.1:${port}`;
    for (const origin of [
      'http://evil.example',
      'null',
      `http://127.0.0.1:${Number(port) + 1}`,
      'file://x',
    ]) {
      const r = await mcp({ host, origin });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
      assert.match(JSON.parse(r.text).error.message, /allowed_origins/);
    }
    assert.equal((await mcp({ host, origin: 'https://app.example' })).status, 200);
    assert.equal((await mcp({ host })).status, 200, 'no Origin: not a browser page');
  });

  it('checks the host a trusted proxy forwards, and refuses a malformed Host with a 403', async () => {
    const forwarded = await mcp({ 'x-forwarded-host': 'evil.example' });
    assert.equal(forwarded.status, 403, forwarded.text);
    const malformed = await rawRequest(`${s.url}/health/live`, { headers: { host: 'a b@c' } });
    assert.ok(malformed.status === 400 || malformed.status === 403, `${malformed.status} ${malformed.text}`);
  });
});

describe('host rule', () => {
  const rule = (bind: string, allowedHosts: string[] = [], publicUrl?: string) =>
    hostRule({ bind, allowedHosts, allowedOrigins: [], publicUrl });

  it('holds on loopback binds by default, and elsewhere once names are listed', () => {
    assert.ok(isLoopbackBind('127.0.0.1') && isLoopbackBind('::1') && isLoopbackBind('localhost'));
    assert.ok(!isLoopbackBind('0.0.0.0') && !isLoopbackBind('::') && !isLoopbackBind('10.0.0.5'));
    assert.equal(rule('0.0.0.0'), undefined);
    assert.equal(rule('127.0.0.1', ['*']), undefined);
    const listed = rule('0.0.0.0', ['agentry.example']);
    assert.ok(listed?.({ host: 'agentry.example', port: '' }));
    assert.ok(!listed?.({ host: 'evil.example', port: '' }));
    const withPublic = rule('127.0.0.1', [], 'https://agents.example.org');
    assert.ok(withPublic?.({ host: 'agents.example.org', port: '' }));
  });
});

describe('auth.loopback_key', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite');
  });
  after(() => s.close());

  it('stands for credential-less requests from this machine only, never for a proxied or cross-site one', async () => {
    const me = () => rawRequest(`${s.url}/v1/auth/me`);
    assert.equal((await me()).status, 401, 'off by default');
    s.app.services.config.auth.loopback_key = s.adminKey;
    try {
      const r = await me();
      assert.equal(r.status, 200, r.text);
      assert.match(JSON.parse(r.text).subject, /^key:/);
      const tries: Record<string, string>[] = [
        { 'x-forwarded-for': '203.0.113.9' },
        { forwarded: 'for=203.0.113.9' },
        { 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of tries) {
        const refused = await rawRequest(`${s.url}/v1/auth/me`, { headers });
        assert.equal(refused.status, 401, JSON.stringify(headers));
      }
    } finally {
      s.app.services.config.auth.loopback_key = undefined;
    }
  });
});
