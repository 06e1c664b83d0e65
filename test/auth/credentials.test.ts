import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createKey, createTenant, journalFor } from './fixtures.ts';

const internalSecret = 'internal-secret-0123456789abcdef';

for (const store of stores) {
  describe(`credentials on ${store}`, () => {
    let s: TestServer;
    let other: Awaited<ReturnType<typeof createTenant>>;
    before(async () => {
      s = await startServer(store, { auth: { internal_secret: internalSecret } });
      other = await createTenant(s, 'acme');
    });
    after(() => s.close());

    const internal = (extra: Record<string, string> = {}) => ({
      'x-internal-service': 'true',
      'x-internal-service-secret': internalSecret,
      ...extra,
    });

    it('accepts the internal service secret as a root admin of the default tenant', async () => {
      const res = await s.request('GET', '/v1/tenants', { key: null, headers: internal() });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.data.some((t: { name: string }) => t.name === 'acme'));
      const created = await s.request('POST', '/v1/agents', {
        key: null,
        headers: internal({ 'x-request-id': 'internal-create-1' }),
        body: { name: 'made-internally' },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.tenant_id, s.app.defaultTenantId);
      const [row] = await journalFor(s, created.body.id);
      assert.equal(row?.actor, 'internal');
      assert.equal(row?.request_id, 'internal-create-1');
    });

    it('acts in the tenant named by X-Tenant-Id (id or name) for an internal service', async () => {
      const byName = await s.request('POST', '/v1/agents', {
        key: null,
        headers: internal({ 'x-tenant-id': 'acme' }),
        body: { name: 'acme-internal' },
      });
      assert.equal(byName.status, 201, byName.text);
      assert.equal(byName.body.tenant_id, other.id);
      const byId = await s.request('GET', `/v1/agents/${byName.body.id}`, {
        key: null,
        headers: internal({ 'x-tenant-id': other.id }),
      });
      assert.equal(byId.status, 200);
      const unknown = await s.request('GET', '/v1/agents', {
        key: null,
        headers: internal({ 'x-tenant-id': 'no-such-tenant' }),
      });
      assert.equal(unknown.status, 401);
    });

    it('refuses a wrong internal secret, whatever its length, and a missing one', async () => {
      const sameLength = `${internalSecret.slice(0, -1)}X`;
      for (const secret of [sameLength, 'short', `${internalSecret}-and-more`, '']) {
        const res = await s.request('GET', '/v1/agents', {
          key: null,
          headers: { 'x-internal-service': 'true', 'x-internal-service-secret': secret },
        });
        assert.equal(res.status, 401, `secret ${JSON.stringify(secret)}`);
        assert.equal(res.body.error.code, 'unauthorized');
      }
      const missing = await s.request('GET', '/v1/agents', {
        key: null,
        headers: { 'x-internal-service': 'true' },
      });
      assert.equal(missing.status, 401);
    });

    it('checks the internal secret first: it wins over a bad bearer sent alongside', async () => {
      const res = await s.request('GET', '/v1/agents', { key: 'agk_garbage', headers: internal() });
      assert.equal(res.status, 200, res.text);
    });

    it('lets the first credential present decide: a bad JWT is not rescued by a good X-API-Key', async () => {
      const res = await s.request('GET', '/v1/agents', {
        key: 'not.a.jwt',
        headers: { 'x-api-key': s.adminKey },
      });
      assert.equal(res.status, 401);
      const badKeyBearer = await s.request('GET', '/v1/agents', {
        key: 'agk_00000000_bad',
        headers: { 'x-api-key': s.adminKey },
      });
      assert.equal(badKeyBearer.status, 401);
    });

    it('accepts an API key as a bearer token and as X-API-Key', async () => {
      const { secret } = await createKey(s, ['read']);
      assert.equal((await s.request('GET', '/v1/agents', { key: secret })).status, 200);
      const viaHeader = await s.request('GET', '/v1/agents', { key: null, headers: { 'x-api-key': secret } });
      assert.equal(viaHeader.status, 200);
      const lower = await s.request('GET', '/v1/agents', {
        key: null,
        headers: { authorization: `bearer ${secret}` },
      });
      assert.equal(lower.status, 200, 'the scheme name is case-insensitive');
    });

    it('ignores X-User-Id outside dev mode', async () => {
      const res = await s.request('GET', '/v1/agents', { key: null, headers: { 'x-user-id': 'alice' } });
      assert.equal(res.status, 401);
      const open = await s.request('GET', '/v1/templates', { key: null, headers: { 'x-user-id': 'alice' } });
      assert.equal(open.status, 200);
      assert.ok(
        open.body.data.every((t: { builtin: boolean }) => t.builtin),
        'no tenant was picked from X-User-Id',
      );
    });
  });

  describe(`dev auth mode on ${store}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(store, { auth: { mode: 'dev' } });
      await createTenant(s, 'devco');
    });
    after(() => s.close());

    it('trusts X-User-Id, in the default tenant or the one named', async () => {
      const res = await s.request('POST', '/v1/agents', {
        key: null,
        headers: { 'x-user-id': 'bob@example.com' },
        body: { name: 'dev-made' },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.tenant_id, s.app.defaultTenantId);
      const [row] = await journalFor(s, res.body.id);
      assert.equal(row?.actor, 'dev:bob@example.com');

      const inDevco = await s.request('GET', '/v1/agents', {
        key: null,
        headers: { 'x-user-id': 'bob', 'x-tenant-id': 'devco' },
      });
      assert.equal(inDevco.status, 200);
      assert.equal(inDevco.body.total, 0, 'devco sees none of the default tenant agents');
    });

    it('still refuses a malformed user id and still wants some credential', async () => {
      const bad = await s.request('GET', '/v1/agents', {
        key: null,
        headers: { 'x-user-id': 'bad user id' },
      });
      assert.equal(bad.status, 401);
      assert.equal((await s.request('GET', '/v1/agents', { key: null })).status, 401);
    });
  });
}

describe('internal secret configuration', () => {
  it('comes from AGENTRY_INTERNAL_SECRET', () => {
    const config = loadConfig({ env: { AGENTRY_INTERNAL_SECRET: internalSecret }, file: '/dev/null' });
    assert.equal(config.auth.internal_secret, internalSecret);
    assert.equal(config.auth.mode, 'keys', 'dev mode is off unless asked for');
  });

  it('answers 401 to the internal header when no secret is configured', async () => {
    const s = await startServer('pglite');
    try {
      const res = await s.request('GET', '/v1/agents', {
        key: null,
        headers: { 'x-internal-service': 'true', 'x-internal-service-secret': internalSecret },
      });
      assert.equal(res.status, 401);
      assert.match(res.body.error.message, /not configured/);
    } finally {
      await s.close();
    }
  });
});
