import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

const require = createRequire(import.meta.url);

/**
 * A Redis client for `url`. ioredis (a CommonJS package) is required on the first call, so a
 * process without REDIS_URL never loads it (~0.2 s of CPU at every start, docs/performance.md);
 * required rather than imported so the callers stay synchronous. The OpenTelemetry instrumentation
 * of ioredis hooks `require`, so it sees this client as before.
 */
export function newRedis(url: string, options: RedisOptions): Redis {
  const { Redis: Client } = require('ioredis') as typeof import('ioredis');
  return new Client(url, options);
}
