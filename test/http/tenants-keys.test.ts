import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant, journalFor } from '../auth/fixtures.ts';
import { startServer, stores, type TestServer } from '../helpers/server.ts';

for (const store of stores) {
  describe(`tenants and keys API on ${store}`, () => {
    let s: TestServer;
    let rootKeyId: string;
    before(async () => {
      s = await startServer(store);
      const keys = await s.request('GET', '/v1/keys');
      rootKeyId = keys.body.data[0].id;
    });
    after(() => s.close());

    it('creates a tenant with its first admin key, and journals both', async () => {
      const res = await s.request('POST', '/v1/tenants', {
        body: { name: 'globex' },
        headers: { 'x-request-id': 'create-globex' },
      });
      assert.equal(res.status, 201, res.text);
      const { tenant, admin_key: key } = res.body;
      assert.equal(tenant.name, 'globex');
      assert.deepEqual(key.scopes, ['admin']);
      assert.equal(key.tenant_id, tenant.id);
      assert.match(key.secret, /^agk_/);

      const [created] = await journalFor(s, tenant.id);
      assert.equal(created?.action, 'tenant.create');
      assert.equal(created?.tenant_id, s.app.defaultTenantId);
      assert.equal(created?.actor, `key:${rootKeyId}`);
      assert.equal(created?.request_id, 'create-globex');
      const [keyRow] = await journalFor(s, key.id);
      assert.equal(keyRow?.action, 'api_key.create');
      assert.equal(keyRow?.tenant_id, tenant.id);
      assert.deepEqual(keyRow?.data.scopes, ['admin']);

      // The new admin key works, and only inside its tenant.
      const agents = await s.request('GET', '/v1/agents', { key: key.secret });
      assert.equal(agents.status, 200);
      assert.equal(agents.body.total, 0);
    });

    it('lists tenants for the root admin only', async () => {
      const list = await s.request('GET', '/v1/tenants');
      assert.equal(list.status, 200);
      const names = list.body.data.map((t: { name: string }) => t.name);
      assert.ok(names.includes('default') && names.includes('globex'));

      const other = await createTenant(s, 'initech');
      assert.equal((await s.request('GET', '/v1/tenants', { key: other.adminKey })).status, 403);
      const create = await s.request('POST', '/v1/tenants', {
        key: other.adminKey,
        body: { name: 'sneaky' },
      });
      assert.equal(create.status, 403);
      const rootWrite = await createKey(s, ['write']);
      assert.equal((await s.request('GET', '/v1/tenants', { key: rootWrite.secret })).status, 403);
      const after = await s.request('GET', '/v1/tenants');
      assert.ok(!after.body.data.some((t: { name: string }) => t.name === 'sneaky'), 'nothing was created');
    });

    it('refuses a duplicate or malformed tenant name, changing nothing', async () => {
      const before = (await s.request('GET', '/v1/tenants')).body.data.length;
      const dup = await s.request('POST', '/v1/tenants', { body: { name: 'default' } });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.error.code, 'conflict');
      for (const body of [{ name: 'Upper Case' }, { name: '' }, {}, { name: 'ok', extra: 1 }, { name: 7 }]) {
        const res = await s.request('POST', '/v1/tenants', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, 'validation_error');
      }
      assert.equal((await s.request('GET', '/v1/tenants')).body.data.length, before);
    });

    it('creates, lists and revokes keys, journalling each change once', async () => {
      const made = await s.request('POST', '/v1/keys', {
        body: { name: 'ci', scopes: ['read', 'write'] },
        headers: { 'x-request-id': 'make-ci-key' },
      });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.name, 'ci');
      assert.equal(made.body.revoked_at, null);
      const [createRow] = await journalFor(s, made.body.id);
      assert.equal(createRow?.action, 'api_key.create');
      assert.equal(createRow?.request_id, 'make-ci-key');
      assert.ok(!JSON.stringify(createRow).includes(made.body.secret), 'the journal never holds the secret');

      const list = await s.request('GET', '/v1/keys');
      const listed = list.body.data.find((k: { id: string }) => k.id === made.body.id);
      const { secret: _, ...shown } = made.body;
      assert.deepEqual(listed, shown, 'the list shows the key as created, without its secret');

      const revoked = await s.request('POST', `/v1/keys/${made.body.id}/revoke`);
      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revoked_at);
      const again = await s.request('POST', `/v1/keys/${made.body.id}/revoke`);
      assert.equal(again.status, 200);
      assert.equal(again.body.revoked_at, revoked.body.revoked_at, 'revoking twice keeps the first time');
      const rows = await journalFor(s, made.body.id);
      assert.deepEqual(
        rows.map((r) => r.action),
        ['api_key.create', 'api_key.revoke'],
      );
      const relisted = await s.request('GET', '/v1/keys');
      const after = relisted.body.data.find((k: { id: string }) => k.id === made.body.id);
      assert.equal(after.revoked_at, revoked.body.revoked_at, 'the list shows the revocation');
    });

    it('validates key requests', async () => {
      for (const body of [
        { scopes: [] },
        { scopes: ['root'] },
        {},
        { scopes: ['read'], colour: 'red' },
        { scopes: ['read'], name: '' },
        { scopes: ['read'], name: '   ' },
      ]) {
        const res = await s.request('POST', '/v1/keys', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, 'validation_error', JSON.stringify(body));
      }
      const blank = await s.request('POST', '/v1/keys', { body: { scopes: ['read'], name: ' ' } });
      assert.equal(blank.body.error.details[0].path, 'name');
      assert.equal((await s.request('POST', '/v1/keys/not-a-uuid/revoke')).status, 400);
      assert.equal((await s.request('POST', `/v1/keys/${randomUUID()}/revoke`)).status, 404);
      assert.equal((await s.request('GET', '/v1/keys?colour=red')).status, 400);
    });

    it('lets the root admin manage another tenant keys; others cannot reach across', async () => {
      const hooli = await createTenant(s, 'hooli');
      const forHooli = await s.request('POST', '/v1/keys', { body: { scopes: ['read'], tenant: 'hooli' } });
      assert.equal(forHooli.status, 201, forHooli.text);
      assert.equal(forHooli.body.tenant_id, hooli.id);
      const listed = await s.request('GET', `/v1/keys?tenant=${hooli.id}`);
      assert.equal(listed.status, 200);
      assert.ok(listed.body.data.every((k: { tenant_id: string }) => k.tenant_id === hooli.id));
      assert.equal(listed.body.data.length, 2);

      // Hooli's admin sees its own keys only and cannot name another tenant.
      const own = await s.request('GET', '/v1/keys', { key: hooli.adminKey });
      assert.deepEqual(
        own.body.data.map((k: { id: string }) => k.id).sort(),
        listed.body.data.map((k: { id: string }) => k.id).sort(),
      );
      const across = await s.request('POST', '/v1/keys', {
        key: hooli.adminKey,
        body: { scopes: ['admin'], tenant: 'default' },
      });
      assert.equal(across.status, 404);
      assert.equal((await s.request('GET', '/v1/keys?tenant=default', { key: hooli.adminKey })).status, 404);
      const revokeRoot = await s.request('POST', `/v1/keys/${rootKeyId}/revoke`, { key: hooli.adminKey });
      assert.equal(revokeRoot.status, 404, 'another tenant key is not found, not forbidden');
      assert.equal((await s.request('GET', '/v1/agents')).status, 200, 'the root key still works');

      // The root admin revokes hooli's key by naming the tenant.
      const revoked = await s.request('POST', `/v1/keys/${forHooli.body.id}/revoke?tenant=hooli`);
      assert.equal(revoked.status, 200);
      const [, revokeRow] = await journalFor(s, forHooli.body.id);
      assert.equal(revokeRow?.action, 'api_key.revoke');
      assert.equal(revokeRow?.data.tenant_id, hooli.id);
      const unknownTenant = await s.request('GET', '/v1/keys?tenant=nope');
      assert.equal(unknownTenant.status, 404);
    });

    it('pages keys, tenants and MCP servers with limit and offset, each row once', async () => {
      const t = await createTenant(s, 'pager');
      for (let i = 0; i < 4; i++) await createKey(s, ['read'], t.adminKey);
      for (let i = 0; i < 3; i++) await createTenant(s, `pager-${i}`);
      for (let i = 0; i < 3; i++) {
        const made = await s.request('POST', '/v1/mcp-servers', {
          key: t.adminKey,
          body: { name: `srv-${i}`, transport: 'stdio', command: '/usr/bin/true' },
        });
        assert.equal(made.status, 201, made.text);
      }
      for (const [path, key] of [
        ['/v1/keys', t.adminKey],
        ['/v1/tenants', undefined],
        ['/v1/mcp-servers', t.adminKey],
      ] as const) {
        const all = await s.request('GET', `${path}?limit=500`, { key });
        assert.equal(all.status, 200, all.text);
        assert.ok(all.body.total >= 3 && all.body.total === all.body.data.length, path);
        const seen: string[] = [];
        for (let offset = 0; offset < all.body.total; offset += 2) {
          const page = await s.request('GET', `${path}?limit=2&offset=${offset}`, { key });
          assert.deepEqual([page.body.limit, page.body.offset, page.body.total], [2, offset, all.body.total]);
          seen.push(...page.body.data.map((r: { id: string }) => r.id));
        }
        assert.deepEqual(
          seen,
          all.body.data.map((r: { id: string }) => r.id),
          path,
        );
        assert.equal((await s.request('GET', `${path}?limit=0`, { key })).status, 400, path);
        assert.equal((await s.request('GET', `${path}?offset=-1`, { key })).status, 400, path);
      }
    });
  });
}
