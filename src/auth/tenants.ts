import type { Db, Queryable } from '../db/db.ts';
import { isUuid, newId } from '../db/ids.ts';
import { listPage, type Page, type PageQuery } from '../db/page.ts';
import { AppError, isUniqueViolation } from '../errors.ts';
import { type Actor, systemActor, writeJournal } from '../events/journal.ts';
import type { ApiKey, ApiKeyService } from './api-keys.ts';

export interface Tenant {
  id: string;
  name: string;
  created_at: string;
}

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
}

const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  created_at: r.created_at.toISOString(),
});

export class TenantService {
  constructor(private readonly db: Db) {}

  /**
   * A tenant and its first admin key, in one transaction (the caller's `tx` when it holds one):
   * the first start's `default` tenant and `POST /v1/tenants` both make tenants this way. Journaled
   * as `who`; without one (the first start) only the key is, as the system.
   */
  async createWithAdminKey(
    keys: ApiKeyService,
    name: string,
    who?: Actor,
    tx?: Queryable,
  ): Promise<{ tenant: Tenant; admin_key: ApiKey & { secret: string } }> {
    const create = async (q: Queryable) => {
      const tenant = await this.create(name, who, q);
      const keyActor = who ? { ...who, tenantId: tenant.id } : systemActor(tenant.id);
      const key = await keys.create(tenant.id, { name: 'initial admin', scopes: ['admin'] }, keyActor, q);
      return { tenant, admin_key: { ...key.key, secret: key.secret } };
    };
    return tx ? create(tx) : this.db.transaction(create);
  }

  async create(name: string, who: Actor | undefined, tx: Queryable = this.db): Promise<Tenant> {
    try {
      const [row] = await tx.query<TenantRow>(
        'insert into tenants (id, name) values ($1, $2) returning id, name, created_at',
        [newId(), name],
      );
      if (who) await writeJournal(tx, who, { action: 'tenant.create', target: row!.id, data: { name } });
      return toTenant(row!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', `tenant ${name} already exists`);
      throw err;
    }
  }

  /** One page of the tenants, oldest first. */
  list(q: PageQuery): Promise<Page<Tenant>> {
    return listPage(
      this.db,
      q,
      { select: 'id, name, created_at', from: 'from tenants', orderBy: 'created_at, id', params: [] },
      toTenant,
    );
  }

  /** Every tenant, whole (a process-wide view: policies are per tenant name). */
  async all(): Promise<Tenant[]> {
    const rows = await this.db.query<TenantRow>(
      'select id, name, created_at from tenants order by created_at, id',
    );
    return rows.map(toTenant);
  }

  /** Finds a tenant by id or by name. */
  async find(idOrName: string): Promise<Tenant | undefined> {
    const rows = isUuid(idOrName)
      ? await this.db.query<TenantRow>('select id, name, created_at from tenants where id = $1', [idOrName])
      : await this.db.query<TenantRow>('select id, name, created_at from tenants where name = $1', [
          idOrName,
        ]);
    return rows[0] && toTenant(rows[0]);
  }
}
