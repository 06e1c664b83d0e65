import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/server.ts';

export type ScopeName = 'read' | 'write' | 'admin';

/** Creates a tenant through the API (as the root admin) and returns it with its first admin key. */
export async function createTenant(
  s: TestServer,
  name: string,
): Promise<{ id: string; name: string; adminKey: string }> {
  const res = await s.request('POST', '/v1/tenants', { body: { name } });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.tenant.id, name, adminKey: res.body.admin_key.secret };
}

/** Creates an API key with the given scopes in the tenant of `asKey` (the root admin by default). */
export async function createKey(
  s: TestServer,
  scopes: ScopeName[],
  asKey: string = s.adminKey,
): Promise<{ id: string; secret: string; prefix: string }> {
  const res = await s.request('POST', '/v1/keys', {
    body: { name: `${scopes.join('+')} key`, scopes },
    key: asKey,
  });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.id, secret: res.body.secret, prefix: res.body.prefix };
}

export interface JournalRow {
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
}

/** The journal rows about one target, oldest first, read straight from the store. */
export async function journalFor(s: TestServer, target: string): Promise<JournalRow[]> {
  return s.app.db.query<JournalRow>(
    'select tenant_id, actor, action, target, request_id, data from journal where target = $1 order by id',
    [target],
  );
}
