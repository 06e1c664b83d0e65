import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page, type PageQuery } from '../db/page.ts';
import { AppError, notFound } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import type { Scope } from './principal.ts';

export interface ConsoleSession {
  id: string;
  tenant_id: string;
  prefix: string;
  scopes: Scope[];
  user_agent: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  /** The API key the session was opened with (the sign-in form), or null (a sign-in link). */
  api_key_id: string | null;
}

interface SessionRow extends Omit<ConsoleSession, 'created_at' | 'expires_at' | 'revoked_at'> {
  hash: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export interface VerifiedSession {
  sessionId: string;
  tenantId: string;
  tenantName: string;
  scopes: Scope[];
  /** Set for a session opened with an API key: it acts as that key (and its owner). */
  keyId?: string;
  keyOwner?: string | null;
}

const toSession = ({ hash: _, ...r }: SessionRow): ConsoleSession => ({
  ...r,
  api_key_id: r.api_key_id ?? null,
  created_at: r.created_at.toISOString(),
  expires_at: r.expires_at.toISOString(),
  revoked_at: r.revoked_at?.toISOString() ?? null,
});

// `ags_<12 hex prefix>_<43 chars of base64url>`: 256 random bits, so a plain sha256 is a sound hash.
const tokenPattern = /^(ags_[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => hash('sha256', text, 'buffer');

export const looksLikeConsoleSession = (value: string) => value.startsWith('ags_');

/**
 * Console sessions: made by a sign-in link, they act for the tenant's admin in the console until
 * they expire (`ttlMs`), the browser signs out, or an admin revokes them in Settings.
 */
export class ConsoleSessionService {
  /** Verified sessions by token hash, each trusted without a look-up for `cacheMs` (never past expiry). */
  private readonly cache = new Map<string, { session: VerifiedSession; until: number }>();
  /** Sessions ended by this process: refused at once, whatever the cache holds. */
  private readonly endedHere = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly cacheMs: number,
  ) {}

  async create(
    tenantId: string,
    input: { scopes: Scope[]; userAgent?: string; apiKeyId?: string },
    who: Actor,
  ): Promise<{ session: ConsoleSession; token: string }> {
    const prefix = `ags_${randomBytes(6).toString('hex')}`;
    const token = `${prefix}_${randomBytes(32).toString('base64url')}`;
    const [row] = await this.db.query<SessionRow>(
      `insert into console_sessions (id, tenant_id, prefix, hash, scopes, user_agent, expires_at, api_key_id)
       values ($1, $2, $3, $4, $5::text[], $6, now() + make_interval(secs => $7::float8 / 1000), $8)
       returning *`,
      [
        newId(),
        tenantId,
        prefix,
        sha256(token).toString('hex'),
        input.scopes,
        (input.userAgent ?? '').slice(0, 300),
        this.ttlMs,
        input.apiKeyId ?? null,
      ],
    );
    await writeJournal(this.db, who, { action: 'console_session.create', target: row!.id, data: { prefix } });
    return { session: toSession(row!), token };
  }

  /** One page of the tenant's sessions, newest first. */
  list(tenantId: string, q: PageQuery): Promise<Page<ConsoleSession>> {
    return listPage(
      this.db,
      q,
      {
        select: '*',
        from: 'from console_sessions where tenant_id = $1',
        orderBy: 'created_at desc, id desc',
        params: [tenantId],
      },
      toSession,
    );
  }

  /** Ends a session of the tenant (sign-out, or an admin's revocation); again changes nothing. */
  async revoke(tenantId: string, id: string, who: Actor): Promise<ConsoleSession> {
    const [row] = await this.db.query<SessionRow>(
      `update console_sessions set revoked_at = coalesce(revoked_at, now())
        where tenant_id = $1 and id = $2 returning *`,
      [tenantId, id],
    );
    if (!row) throw notFound('console session', id);
    await writeJournal(this.db, who, {
      action: 'console_session.revoke',
      target: id,
      data: { prefix: row.prefix },
    });
    this.endedHere.add(id);
    for (const [key, entry] of this.cache) if (entry.session.sessionId === id) this.cache.delete(key);
    return toSession(row);
  }

  /** Who the session acts for, or 401 (unknown, expired, revoked). */
  async verify(token: string): Promise<VerifiedSession> {
    const match = tokenPattern.exec(token);
    if (!match) throw new AppError('unauthorized', 'malformed console session');
    const digest = sha256(token);
    const key = digest.toString('hex');
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached && cached.until > now && !this.endedHere.has(cached.session.sessionId)) return cached.session;
    const [row] = await this.db.query<
      SessionRow & { tenant_name: string; key_owner: string | null; key_revoked_at: Date | null }
    >(
      `select s.*, t.name as tenant_name, k.owner as key_owner, k.revoked_at as key_revoked_at
         from console_sessions s join tenants t on t.id = s.tenant_id
         left join api_keys k on k.id = s.api_key_id
        where s.prefix = $1`,
      [match[1]],
    );
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), digest)) {
      throw new AppError('unauthorized', 'invalid console session');
    }
    if (row.revoked_at || this.endedHere.has(row.id))
      throw new AppError('unauthorized', 'console session ended');
    if (row.key_revoked_at) {
      throw new AppError('unauthorized', 'console session ended: the API key it was opened with is revoked');
    }
    if (row.expires_at.getTime() <= now) {
      throw new AppError(
        'unauthorized',
        'console session expired: open a new sign-in link or use an API key',
      );
    }
    const session = {
      sessionId: row.id,
      tenantId: row.tenant_id,
      tenantName: row.tenant_name,
      scopes: row.scopes,
      ...(row.api_key_id && { keyId: row.api_key_id, keyOwner: row.key_owner }),
    };
    this.cache.set(key, { session, until: Math.min(now + this.cacheMs, row.expires_at.getTime()) });
    return session;
  }
}
