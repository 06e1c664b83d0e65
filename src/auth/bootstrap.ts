import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db, Queryable } from '../db/db.ts';
import { type Actor, systemActor } from '../events/journal.ts';
import type { ApiKey, ApiKeyService } from './api-keys.ts';
import { ROOT_TENANT } from './principal.ts';
import type { Tenant, TenantService } from './tenants.ts';

export interface BootstrapResult {
  tenantId: string;
  /** Present only on the very first start: the admin key, shown once. */
  adminKey?: string;
}

/**
 * First start: creates the `default` tenant with an admin key. Runs under an advisory lock so two
 * processes starting together on one database create exactly one.
 */
export async function bootstrap(
  db: Db,
  tenants: TenantService,
  keys: ApiKeyService,
): Promise<BootstrapResult> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [7_070_002]);
    const [existing] = await tx.query<{ id: string }>('select id from tenants where name = $1', [
      ROOT_TENANT,
    ]);
    if (existing) return { tenantId: existing.id };
    const { tenant, admin_key } = await createTenantWithAdminKey(
      { db, tenants, keys },
      ROOT_TENANT,
      undefined,
      tx,
    );
    return { tenantId: tenant.id, adminKey: admin_key.secret };
  });
}

/**
 * A tenant and its first admin key, in one transaction (the caller's `tx` when it holds one):
 * the first start's `default` tenant and `POST /v1/tenants` both make tenants this way. Journaled
 * as `who`; without one (the first start) only the key is, as the system.
 */
export async function createTenantWithAdminKey(
  deps: { db: Db; tenants: TenantService; keys: ApiKeyService },
  name: string,
  who?: Actor,
  tx?: Queryable,
): Promise<{ tenant: Tenant; admin_key: ApiKey & { secret: string } }> {
  const create = async (q: Queryable) => {
    const tenant = await deps.tenants.create(name, who, q);
    const keyActor = who ? { ...who, tenantId: tenant.id } : systemActor(tenant.id);
    const key = await deps.keys.create(tenant.id, { name: 'initial admin', scopes: ['admin'] }, keyActor, q);
    return { tenant, admin_key: { ...key.key, secret: key.secret } };
  };
  return tx ? create(tx) : deps.db.transaction(create);
}

export interface StoredCredentials {
  url: string;
  api_key: string;
  tenant: string;
}

/** Writes the admin credentials for the CLI, readable by the owner only. */
export function writeCredentials(file: string, creds: StoredCredentials): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
}

/**
 * On later starts the key is unknown (only its hash is stored), but the address may have changed:
 * keep the saved key and point the CLI at where the server listens now.
 */
export function refreshCredentialsUrl(file: string, url: string): void {
  let saved: StoredCredentials;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return; // no file, or not ours: nothing to refresh
  }
  if (typeof saved?.api_key !== 'string' || saved.url === url) return;
  writeCredentials(file, { ...saved, url });
}
