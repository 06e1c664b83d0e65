import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, stores, type TestServer } from '../helpers/server.ts';
import { createKey, createTenant } from './fixtures.ts';

/**
 * Tenant A's rows, approached with tenant B's admin key: every read, change and delete answers 404
 * (never 403, which would confirm the row exists), lists leave them out, and nothing changes.
 */
for (const store of stores) {
  describe(`tenant isolation on ${store}`, () => {
    let s: TestServer;
    let a: Awaited<ReturnType<typeof createTenant>>;
    let b: Awaited<ReturnType<typeof createTenant>>;
    const rows: Record<'agent' | 'template' | 'spec' | 'key', string> = {
      agent: '',
      template: '',
      spec: '',
      key: '',
    };
    let snapshot: Record<string, unknown> = {};

    const asA = (method: string, path: string, body?: unknown) =>
      s.request(method, path, { key: a.adminKey, body });
    const asB = (method: string, path: string, body?: unknown) =>
      s.request(method, path, { key: b.adminKey, body });

    before(async () => {
      s = await startServer(store);
      a = await createTenant(s, 'tenant-a');
      b = await createTenant(s, 'tenant-b');
      rows.agent = (await asA('POST', '/v1/agents', { name: 'a-agent' })).body.id;
      rows.template = (await asA('POST', '/v1/templates', { name: 'a-template' })).body.id;
      rows.spec = (
        await asA('POST', '/v1/multi-agents', { name: 'a-spec', kind: 'swarm', members: [rows.agent] })
      ).body.id;
      rows.key = (await createKey(s, ['read'], a.adminKey)).id;
      // B has rows of its own with the same names: names are per tenant.
      const bAgent = await asB('POST', '/v1/agents', { name: 'a-agent' });
      assert.equal(bAgent.status, 201);
      snapshot = {
        agent: (await asA('GET', `/v1/agents/${rows.agent}`)).body,
        template: (await asA('GET', `/v1/templates/${rows.template}`)).body,
        spec: (await asA('GET', `/v1/multi-agents/${rows.spec}`)).body,
      };
    });
    after(() => s.close());

    it('answers 404 for agents of another tenant and leaves them out of lists', async () => {
      assert.equal((await asB('GET', `/v1/agents/${rows.agent}`)).status, 404);
      assert.equal((await asB('PATCH', `/v1/agents/${rows.agent}`, { description: 'mine' })).status, 404);
      assert.equal((await asB('DELETE', `/v1/agents/${rows.agent}`)).status, 404);
      const list = await asB('GET', '/v1/agents?limit=500');
      assert.ok(!list.body.data.some((x: { id: string }) => x.id === rows.agent));
      assert.deepEqual((await asA('GET', `/v1/agents/${rows.agent}`)).body, snapshot.agent);
    });

    it('answers 404 for templates of another tenant', async () => {
      assert.equal((await asB('GET', `/v1/templates/${rows.template}`)).status, 404);
      assert.equal((await asB('PATCH', `/v1/templates/${rows.template}`, { name: 'mine' })).status, 404);
      assert.equal((await asB('DELETE', `/v1/templates/${rows.template}`)).status, 404);
      const list = await asB('GET', '/v1/templates');
      assert.ok(!list.body.data.some((x: { id: string }) => x.id === rows.template));
      assert.deepEqual((await asA('GET', `/v1/templates/${rows.template}`)).body, snapshot.template);
    });

    it('answers 404 for multi-agent specs of another tenant, and refuses its agents as members', async () => {
      assert.equal((await asB('GET', `/v1/multi-agents/${rows.spec}`)).status, 404);
      assert.equal(
        (await asB('PATCH', `/v1/multi-agents/${rows.spec}`, { description: 'mine' })).status,
        404,
      );
      assert.equal((await asB('DELETE', `/v1/multi-agents/${rows.spec}`)).status, 404);
      const list = await asB('GET', '/v1/multi-agents');
      assert.equal(list.body.total, 0);
      const borrow = await asB('POST', '/v1/multi-agents', {
        name: 'borrow',
        kind: 'swarm',
        members: [rows.agent],
      });
      assert.equal(borrow.status, 400);
      assert.match(borrow.body.error.message, new RegExp(rows.agent));
      assert.deepEqual((await asA('GET', `/v1/multi-agents/${rows.spec}`)).body, snapshot.spec);
    });

    it('answers 404 for keys of another tenant and leaves them out of lists', async () => {
      assert.equal((await asB('POST', `/v1/keys/${rows.key}/revoke`)).status, 404);
      const list = await asB('GET', '/v1/keys');
      assert.ok(!list.body.data.some((x: { id: string }) => x.id === rows.key));
      assert.ok(list.body.data.every((x: { tenant_id: string }) => x.tenant_id === b.id));
      const own = await asA('GET', '/v1/keys');
      const key = own.body.data.find((x: { id: string }) => x.id === rows.key);
      assert.equal(key.revoked_at, null, 'the key is still live');
    });

    it('keeps the root admin to its own tenant rows unless it names another tenant', async () => {
      assert.equal((await s.request('GET', `/v1/agents/${rows.agent}`)).status, 404);
      assert.equal((await s.request('GET', `/v1/multi-agents/${rows.spec}`)).status, 404);
    });
  });
}
