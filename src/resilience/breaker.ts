export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  failure_threshold: number;
  reset_ms: number;
}

/**
 * A circuit breaker for one provider endpoint. Closed: calls pass, consecutive endpoint failures are
 * counted. Open (after `failure_threshold` of them): calls are refused at once until `reset_ms` has
 * passed. Half-open: exactly one probe call passes; its success closes the breaker, its failure opens
 * it again for another `reset_ms`. State is per process: each process learns about an endpoint from
 * its own calls, which is what matters for failing fast.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    readonly name: string,
    private readonly options: BreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.reset_ms) return 'half_open';
    return this.current;
  }

  /** Milliseconds until an open breaker lets a probe through. */
  retryInMs(): number {
    return this.current === 'open' ? Math.max(0, this.options.reset_ms - (this.now() - this.openedAt)) : 0;
  }

  /** May a call go through now? A true answer in half-open state reserves the single probe. */
  acquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.current = 'half_open';
    this.probing = true;
    return true;
  }

  success(): void {
    this.current = 'closed';
    this.failures = 0;
    this.probing = false;
  }

  /** An endpoint fault (network error, timeout, 5xx). */
  failure(): void {
    this.probing = false;
    this.failures += 1;
    if (this.current === 'half_open' || this.failures >= this.options.failure_threshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }

  /** A call that ended without telling anything about the endpoint (caller error, abort). */
  release(): void {
    this.probing = false;
  }
}
