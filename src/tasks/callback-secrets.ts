import { randomBytes } from 'node:crypto';
import type { Db } from '../db/db.ts';
import type { Actor } from '../events/journal.ts';
import { writeJournal } from '../events/journal.ts';

const fresh = () => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Per-tenant secrets that sign callbacks. A tenant's admins read theirs with
 * `GET /v1/tasks/callback-secret` (created on first read or first send) and replace it with
 * `POST /v1/tasks/callback-secret/rotate`; receivers verify `Agentry-Signature` with it.
 */
export class CallbackSecrets {
  constructor(private readonly db: Db) {}

  async get(tenantId: string): Promise<string> {
    // Insert-if-absent then read: two first uses at once agree on one secret.
    await this.db.query(
      'insert into callback_secrets (tenant_id, secret) values ($1, $2) on conflict (tenant_id) do nothing',
      [tenantId, fresh()],
    );
    const [row] = await this.db.query<{ secret: string }>(
      'select secret from callback_secrets where tenant_id = $1',
      [tenantId],
    );
    return row!.secret;
  }

  async rotate(tenantId: string, who: Actor): Promise<string> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ secret: string }>(
        `insert into callback_secrets (tenant_id, secret) values ($1, $2)
         on conflict (tenant_id) do update set secret = excluded.secret, created_at = now()
         returning secret`,
        [tenantId, fresh()],
      );
      await writeJournal(tx, who, { action: 'callback_secret.rotate', target: tenantId });
      return row!.secret;
    });
  }
}
