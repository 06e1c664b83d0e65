import { AppError } from '../../errors.ts';
import type { CounterStore } from '../../models/counters.ts';

/**
 * The per-tenant rate of POST /v1/traces: so many spans a minute (tenants.yaml
 * `rate_limits.spans_per_minute`), in the shared counter store behind the gateway's limits so it
 * holds across processes. An export that would pass it is refused whole with 429 and Retry-After
 * (the seconds left in the minute), which OTLP exporters honour by retrying later.
 */
export class SpanRate {
  constructor(
    private readonly store: CounterStore,
    /** The clock (tests set it so a minute cannot turn during one). */
    private now: () => number = Date.now,
  ) {}

  async take(tenantId: string, spans: number, perMinute: number): Promise<void> {
    if (spans === 0) return;
    const now = this.now();
    const minute = Math.floor(now / 60_000);
    const ends = (minute + 1) * 60_000;
    if (await this.store.take(`r:${tenantId}:otlp_spans:${minute}`, spans, perMinute, ends)) return;
    throw new AppError(
      'rate_limited',
      `this tenant may send ${perMinute} spans a minute (tenants.yaml rate_limits.spans_per_minute)`,
      { retryAfter: Math.max(1, Math.ceil((ends - now) / 1000)) },
    );
  }
}
