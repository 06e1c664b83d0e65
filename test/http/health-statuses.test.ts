import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closedPort } from '../helpers/closed-port.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A light is green only for what works: off by choice or not configured is `off` (grey, with the
 * reason), a server that does not answer is `down` (red); neither off nor down hides the rest.
 */
describe('GET /health: off, not configured and unreachable are not green', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('pglite', {
      models: { providers: { paid: { type: 'openai', api_key_env: 'AGENTRY_TEST_KEY_NEVER_SET' } } },
    });
    const me = await s.app.services.tenants.find(s.app.defaultTenantId);
    s.app.services.policies.set({ tenants: { [me!.name]: { network: { allow_private_egress: true } } } });
  });
  after(() => s?.close());

  it('reports vector search off and keyless providers as off with why, and the whole still ok', async () => {
    const res = await s.request('GET', '/health');
    assert.equal(res.status, 200, res.text);
    const c = res.body.components;
    assert.equal(c.vector_search.status, 'off');
    assert.match(c.vector_search.detail.reason, /^off: set AGENTRY_EMBEDDINGS/);
    assert.equal(c['model:paid'].status, 'off');
    assert.equal(c['model:paid'].detail.reason, 'not configured: set AGENTRY_TEST_KEY_NEVER_SET');
    assert.equal(c['model:mock'].status, 'ok');
    assert.equal(res.body.status, 'ok', 'off is no fault');
    assert.equal(res.body.overall, 'green');
  });

  it('reports an MCP server whose test found it unreachable as down, and the whole degraded', async () => {
    const port = await closedPort();
    const added = await s.request('POST', '/v1/mcp-servers', {
      body: { name: 'gone', transport: 'http', url: `http://127.0.0.1:${port}/mcp` },
    });
    assert.equal(added.status, 201, added.text);
    const probe = await s.request('POST', `/v1/mcp-servers/${added.body.id}/test`);
    assert.equal(probe.body.ok, false, probe.text);
    const res = await s.request('GET', '/health');
    const server = res.body.components['mcp:gone'];
    assert.equal(server.status, 'down', res.text);
    assert.match(server.detail.reason, /^unreachable: /);
    assert.deepEqual(res.body.components.mcp.detail.unreachable, ['gone']);
    assert.equal(res.body.status, 'degraded');
    assert.equal(res.body.overall, 'amber');
  });
});
