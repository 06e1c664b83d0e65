import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Queryable } from '../db/db.ts';
import { newId } from '../db/ids.ts';
import { listPage, type Page, type PageQuery } from '../db/page.ts';
import { AppError, notFound } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import type { Scope } from './principal.ts';

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  /** The user the key acts for (owns what it creates); null: the key is its own user. */
  owner: string | null;
  created_at: string;
  revoked_at: string | null;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: Scope[];
  owner: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

export interface VerifiedKey {
  keyId: string;
  tenantId: string;
  tenantName: string;
  scopes: Scope[];
  owner: string | null;
}

const toApiKey = (r: KeyRow): ApiKey => ({
  id: r.id,
  tenant_id: r.tenant_id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  owner: r.owner,
  created_at: r.created_at.toISOString(),
  revoked_at: r.revoked_at?.toISOString() ?? null,
});

// A key reads `agk_<12 hex prefix>_<43 chars of base64url secret>`. The prefix is the visible,
// stored handle (48 random bits, so two keys practically never share one; the first keys had 8 hex);
// the secret part carries 256 random bits, so a plain sha256 is a sound stored hash (no password
// stretching needed for high-entropy secrets).
const keyPattern = /^(agk_[0-9a-f]{8,16})_[A-Za-z0-9_-]{43}$/;
// One-shot, with no Hash object: a Hash is a native object the young-generation GC must finalise,
// and this runs on every request.
const sha256 = (text: string) => hash('sha256', text, 'buffer');

export const looksLikeApiKey = (value: string) => value.startsWith('agk_');

/** The prefix of an imported key (`syncImported`): random, so nothing of its value is shown. */
const importedPrefix = 'env_';
/** Longest imported value looked up: longer ones are refused without hashing a megabyte. */
const maxImported = 4096;

const sameScopes = (a: Scope[], b: Scope[]) => a.length === new Set(b).size && b.every((s) => a.includes(s));

export class ApiKeyService {
  /** Verified keys by their hash: saves the database look-up on the hot path for `cacheMs`. */
  private readonly cache = new Map<string, { key: VerifiedKey; until: number }>();
  /** Keys revoked by this process: refused at once, whatever the cache holds. */
  private readonly revokedHere = new Set<string>();
  /** Store look-ups under way, by key hash. */
  private readonly inFlight = new Map<string, Promise<VerifiedKey>>();

  /**
   * `importedKeys`: whether a value that is not an Agentry key may be an imported one (set while
   * an earlier system's key is configured, PAGI_API_KEY); off, it is refused at once as malformed.
   */
  constructor(
    private readonly db: Db,
    private readonly cacheMs: number,
    private readonly importedKeys = false,
  ) {}

  /** Whether values that are not Agentry keys are looked up as imported keys. */
  get acceptsImported(): boolean {
    return this.importedKeys;
  }

  async create(
    tenantId: string,
    input: { name?: string; scopes: Scope[]; owner?: string | null },
    who: Actor | undefined,
    tx: Queryable = this.db,
  ): Promise<{ key: ApiKey; secret: string }> {
    const prefix = `agk_${randomBytes(6).toString('hex')}`;
    const secret = `${prefix}_${randomBytes(32).toString('base64url')}`;
    return { key: await this.insert(tx, tenantId, prefix, secret, input, who), secret };
  }

  private async insert(
    tx: Queryable,
    tenantId: string,
    prefix: string,
    secret: string,
    input: { name?: string; scopes: Scope[]; owner?: string | null },
    who: Actor | undefined,
  ): Promise<ApiKey> {
    const scopes = [...new Set(input.scopes)];
    const [row] = await tx.query<KeyRow>(
      `insert into api_keys (id, tenant_id, name, prefix, hash, scopes, owner)
       values ($1, $2, $3, $4, $5, $6::text[], $7) returning *`,
      [
        newId(),
        tenantId,
        input.name ?? '',
        prefix,
        sha256(secret).toString('hex'),
        scopes,
        input.owner ?? null,
      ],
    );
    if (who) {
      await writeJournal(tx, who, {
        action: 'api_key.create',
        target: row!.id,
        data: { prefix, scopes, tenant_id: tenantId },
      });
    }
    return toApiKey(row!);
  }

  /**
   * Makes `value` — a secret an operator sets in the environment in an earlier system's own form,
   * such as PAGI's `PAGI_API_KEY` (any string) — the one live imported key named `name` of the
   * tenant. It is stored as every key is, by its sha256, under a random `env_…` prefix (nothing of
   * the value shows in a listing). A new value revokes the one before it; `undefined` revokes it;
   * the same value changes nothing. Processes starting together agree under an advisory lock.
   */
  async syncImported(
    tenantId: string,
    input: { name: string; value: string | undefined; scopes: Scope[] },
    who: Actor,
  ): Promise<{ created?: ApiKey; revoked: ApiKey[] }> {
    const outcome = await this.db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [7_070_003]);
      const live = await tx.query<KeyRow>(
        `select * from api_keys
         where tenant_id = $1 and name = $2 and starts_with(prefix, $3) and revoked_at is null
         for update`,
        [tenantId, input.name, importedPrefix],
      );
      const digest = input.value === undefined ? undefined : sha256(input.value).toString('hex');
      const kept = live.find((k) => k.hash === digest && sameScopes(k.scopes, input.scopes));
      const revoked: ApiKey[] = [];
      for (const old of live) {
        if (old === kept) continue;
        const [row] = await tx.query<KeyRow>(
          'update api_keys set revoked_at = now() where id = $1 returning *',
          [old.id],
        );
        await writeJournal(tx, who, {
          action: 'api_key.revoke',
          target: old.id,
          data: { prefix: old.prefix, tenant_id: tenantId, reason: `${input.name} changed` },
        });
        revoked.push(toApiKey(row!));
      }
      if (kept || input.value === undefined) return { revoked };
      const prefix = `${importedPrefix}${randomBytes(6).toString('hex')}`;
      const created = await this.insert(tx, tenantId, prefix, input.value, input, who);
      return { created, revoked };
    });
    for (const key of outcome.revoked) this.forget(key.id);
    return outcome;
  }

  /** One page of the tenant's keys, oldest first (ids are UUIDv7: creation order). */
  list(tenantId: string, q: PageQuery): Promise<Page<ApiKey>> {
    return listPage(
      this.db,
      q,
      { select: '*', from: 'from api_keys where tenant_id = $1', orderBy: 'id', params: [tenantId] },
      toApiKey,
    );
  }

  /** Revokes a key of the tenant; revoking it again changes nothing and is not journalled again. */
  async revoke(tenantId: string, id: string, who: Actor): Promise<ApiKey> {
    const row = await this.db.transaction(async (tx) => {
      const [current] = await tx.query<KeyRow>(
        'select * from api_keys where tenant_id = $1 and id = $2 for update',
        [tenantId, id],
      );
      if (!current) throw notFound('api key', id);
      if (current.revoked_at) return current;
      const [updated] = await tx.query<KeyRow>(
        'update api_keys set revoked_at = now() where id = $1 returning *',
        [id],
      );
      await writeJournal(tx, who, {
        action: 'api_key.revoke',
        target: id,
        data: { prefix: current.prefix, tenant_id: tenantId },
      });
      return updated!;
    });
    this.forget(id);
    return toApiKey(row);
  }

  /**
   * A key revoked by this process: other processes drop it when their cache entry expires
   * (cacheMs); this one refuses it from now on, even if a verification that read the row before
   * the revocation caches it afterwards.
   */
  private forget(id: string): void {
    this.revokedHere.add(id);
    for (const [hash, entry] of this.cache) if (entry.key.keyId === id) this.cache.delete(hash);
  }

  /**
   * Returns who the key belongs to, or throws 401. Cached briefly; revocation is seen within
   * `cacheMs`. A key in steady use never waits on the store: past half its cache life, one
   * background look-up renews the entry, and concurrent misses for a key share one look-up.
   */
  async verify(secret: string): Promise<VerifiedKey> {
    const match = keyPattern.exec(secret);
    // Any other string may be an imported key (`syncImported`), found by its hash.
    if (!match && (looksLikeApiKey(secret) || !this.importedKeys || secret.length > maxImported))
      throw new AppError('unauthorized', 'malformed API key');
    const prefix = match?.[1];
    const digest = sha256(secret);
    const cacheKey = digest.toString('hex');
    const cached = this.cache.get(cacheKey);
    const now = Date.now();
    if (cached && cached.until > now && !this.revokedHere.has(cached.key.keyId)) {
      if (cached.until - now < this.cacheMs / 2) {
        // Dropped on purpose: a renewal in the background has no caller to answer. Its failure
        // leaves the cached entry to expire, and the next look-up on a request reports it then.
        this.lookup(cacheKey, prefix, digest).catch(() => undefined);
      }
      return cached.key;
    }
    const key = await this.lookup(cacheKey, prefix, digest);
    // A shared look-up may have read the row before this process revoked the key.
    if (this.revokedHere.has(key.keyId)) throw new AppError('unauthorized', 'API key revoked');
    return key;
  }

  /** One store look-up per key at a time; callers that arrive meanwhile share it. */
  private lookup(cacheKey: string, prefix: string | undefined, digest: Buffer): Promise<VerifiedKey> {
    let pending = this.inFlight.get(cacheKey);
    if (!pending) {
      pending = this.load(cacheKey, prefix, digest).finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }

  /** An Agentry key by its prefix; an imported one (no prefix in it) by its hash. */
  private async load(cacheKey: string, prefix: string | undefined, digest: Buffer): Promise<VerifiedKey> {
    const started = Date.now();
    const [row] = await this.db.query<KeyRow & { tenant_name: string }>(
      prefix
        ? `select k.*, t.name as tenant_name from api_keys k join tenants t on t.id = k.tenant_id
           where k.prefix = $1`
        : `select k.*, t.name as tenant_name from api_keys k join tenants t on t.id = k.tenant_id
           where k.hash = $1 and starts_with(k.prefix, $2)
           order by k.revoked_at nulls first limit 1`,
      prefix ? [prefix] : [cacheKey, importedPrefix],
    );
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), digest)) {
      this.cache.delete(cacheKey);
      throw new AppError('unauthorized', 'invalid API key');
    }
    if (row.revoked_at || this.revokedHere.has(row.id)) {
      this.cache.delete(cacheKey);
      throw new AppError('unauthorized', 'API key revoked');
    }
    const key: VerifiedKey = {
      keyId: row.id,
      tenantId: row.tenant_id,
      tenantName: row.tenant_name,
      scopes: row.scopes,
      owner: row.owner,
    };
    if (this.cacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      // The window counts from before the read: the row may change right after it.
      this.cache.set(cacheKey, { key, until: started + this.cacheMs });
    }
    return key;
  }
}
