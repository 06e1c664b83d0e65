import { AppError } from '../../errors.ts';
import type { CounterStore } from '../../models/counters.ts';

/**
 * The rate limit of `feedback` keys (end users' scores from an app): so many scores per key per
 * minute (tenants.yaml `rate_limits.feedback_per_minute`), counted in the shared counter store
 * behind the model gateway's limits, so it holds across processes. A refusal is 429 with
 * Retry-After: the seconds left in the minute.
 */
export class FeedbackLimit {
  constructor(
    private readonly store: CounterStore,
    /** The clock (tests set it so a minute cannot turn during one). */
    private now: () => number = Date.now,
  ) {}

  async take(tenantId: string, keyId: string, perMinute: number): Promise<void> {
    const now = this.now();
    const minute = Math.floor(now / 60_000);
    const ends = (minute + 1) * 60_000;
    if (await this.store.take(`r:${tenantId}:k:${keyId}:feedback:${minute}`, 1, perMinute, ends)) return;
    throw new AppError(
      'rate_limited',
      `this feedback key may post ${perMinute} scores a minute (tenants.yaml rate_limits.feedback_per_minute)`,
      { retryAfter: Math.max(1, Math.ceil((ends - now) / 1000)) },
    );
  }
}
