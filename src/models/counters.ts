import type { Redis } from 'ioredis';
import type { Queryable } from '../db/db.ts';

/**
 * Shared counters behind budgets and rate limits: each process takes amounts from a counter
 * atomically and never past its limit, so limits hold across any number of processes.
 */
export interface CounterStore {
  readonly kind: 'db' | 'redis';
  /** Adds `amount` if the counter stays within `limit`; false (and no change) otherwise. */
  take(key: string, amount: number, limit: number, expiresAt: number): Promise<boolean>;
  /** Adds (or with a negative amount, removes) without a limit check: returns and overage. */
  add(key: string, amount: number, expiresAt: number): Promise<void>;
  /** Current value (0 when absent), for messages. */
  get(key: string): Promise<number>;
  /** Drops counters whose period has ended. */
  sweep(): Promise<void>;
}

/** Counters in the `limit_counters` table: one conditional upsert per take. */
export class DbCounterStore implements CounterStore {
  readonly kind = 'db' as const;

  constructor(private readonly db: Queryable) {}

  async take(key: string, amount: number, limit: number, expiresAt: number): Promise<boolean> {
    // The row lock taken by ON CONFLICT DO UPDATE serialises concurrent takers of one key; the
    // WHERE clauses refuse both a first insert and an update that would pass the limit.
    const rows = await this.db.query(
      `insert into limit_counters (key, used, expires_at)
         select $1::text, $2::float8, to_timestamp($4::float8 / 1000) where $2::float8 <= $3::float8
       on conflict (key) do update set used = limit_counters.used + excluded.used
         where limit_counters.used + excluded.used <= $3::float8
       returning used`,
      [key, amount, limit, expiresAt],
    );
    return rows.length > 0;
  }

  async add(key: string, amount: number, expiresAt: number): Promise<void> {
    await this.db.query(
      `insert into limit_counters (key, used, expires_at) values ($1, greatest($2::float8, 0), to_timestamp($3::float8 / 1000))
       on conflict (key) do update set used = greatest(limit_counters.used + $2::float8, 0)`,
      [key, amount, expiresAt],
    );
  }

  async get(key: string): Promise<number> {
    const rows = await this.db.query<{ used: number }>('select used from limit_counters where key = $1', [
      key,
    ]);
    return rows[0]?.used ?? 0;
  }

  async sweep(): Promise<void> {
    await this.db.query('delete from limit_counters where expires_at < now()');
  }
}

// KEYS[1] counter; ARGV amount, limit, expiry (epoch ms). -1 when the take would pass the limit.
const takeScript = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if used + amount > tonumber(ARGV[2]) then return '-1' end
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return v`;

const addScript = `
local v = tonumber(redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]))
if v < 0 then redis.call('SET', KEYS[1], '0') end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return tostring(v)`;

/** Counters in Redis: a Lua script makes check-and-add one atomic step; keys expire with their period. */
export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'agentry:limits:',
  ) {}

  async take(key: string, amount: number, limit: number, expiresAt: number): Promise<boolean> {
    const result = await this.redis.eval(
      takeScript,
      1,
      this.prefix + key,
      amount,
      limit,
      Math.ceil(expiresAt),
    );
    return result !== '-1';
  }

  async add(key: string, amount: number, expiresAt: number): Promise<void> {
    await this.redis.eval(addScript, 1, this.prefix + key, amount, Math.ceil(expiresAt));
  }

  async get(key: string): Promise<number> {
    return Number((await this.redis.get(this.prefix + key)) ?? 0);
  }

  async sweep(): Promise<void> {
    // Redis expires keys by itself.
  }
}
