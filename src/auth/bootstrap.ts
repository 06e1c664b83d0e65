import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/db.ts';
import { systemActor } from '../events/journal.ts';
import type { ApiKey, ApiKeyService } from './api-keys.ts';
import { ROOT_TENANT } from './principal.ts';
import type { TenantService } from './tenants.ts';

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
    const { tenant, admin_key } = await tenants.createWithAdminKey(keys, ROOT_TENANT, undefined, tx);
    return { tenantId: tenant.id, adminKey: admin_key.secret };
  });
}

/** The name PAGI's imported key carries in the default tenant's key list. */
export const PAGI_KEY_NAME = 'PAGI_API_KEY';

/**
 * PAGI_API_KEY as PAGI's deployments set it (any string): the default tenant's key with the `pagi`
 * scope, which opens PAGI's routes and no other. Changing the variable replaces it (the old value
 * is revoked), unsetting it revokes it; the same value changes nothing.
 */
export function syncPagiKey(
  keys: ApiKeyService,
  tenantId: string,
  value: string | undefined,
): Promise<{ created?: ApiKey; revoked: ApiKey[] }> {
  return keys.syncImported(tenantId, { name: PAGI_KEY_NAME, value, scopes: ['pagi'] }, systemActor(tenantId));
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
