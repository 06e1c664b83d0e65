import { AppError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Sandbox, SandboxBackend } from './types.ts';

export interface PoolOptions {
  /** Sandboxes kept ready ahead of demand. */
  size: number;
  /** Most sandboxes alive at once (ready + being prepared + busy). */
  max_total: number;
  /** How long an acquire waits for a sandbox before it answers 503. */
  acquire_timeout_ms: number;
}

export interface PoolStats {
  type: string;
  ready: number;
  busy: number;
  preparing: number;
  waiting: number;
  created: number;
  destroyed: number;
  failed: number;
  /** Time acquires waited for a sandbox, over the last 1,024 acquires. */
  acquire_wait_ms: { p50: number; p99: number };
}

interface Waiter<S> {
  resolve(sandbox: S): void;
  reject(error: Error): void;
}

const WAIT_SAMPLES = 1024;

/**
 * Sandboxes prepared ahead of time, each used once. `acquire` hands out a ready one (or waits for
 * the next, up to a deadline); `release` destroys it and the pool prepares a replacement in the
 * background (at once instead when fewer than half of `size` are left ready). Nothing is ever reused, so nothing can leak from one task or tenant to the next.
 */
export class WarmPool<S extends Sandbox = Sandbox> {
  private readonly ready: S[] = [];
  private readonly waiters: Waiter<S>[] = [];
  private readonly waits: number[] = [];
  private readonly destroying = new Set<Promise<void>>();
  private busy = 0;
  private preparing = 0;
  private created = 0;
  private destroyed = 0;
  private failed = 0;
  private consecutiveFailures = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly backend: SandboxBackend<S>,
    private readonly options: PoolOptions,
    private readonly log: Logger,
  ) {}

  get type(): string {
    return this.backend.type;
  }

  /** Starts filling the pool; returns at once. */
  start(): void {
    this.refill();
  }

  async acquire(signal?: AbortSignal): Promise<S> {
    if (this.stopped) throw new AppError('unavailable', `the ${this.type} sandbox pool is shut down`);
    const started = performance.now();
    const ready = this.ready.shift();
    if (ready) {
      this.busy++;
      this.recordWait(started);
      // Preparing a replacement starts with synchronous work on the event loop (the sandbox's
      // folders and cgroup, the fork of this process: ~9 ms here), which the program just handed
      // out would wait behind. While at least half the pool is still ready, the replacement is
      // prepared when this sandbox is released; below that, at once.
      if (this.ready.length < this.options.size / 2) this.refill();
      return ready;
    }
    return new Promise<S>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
      };
      const waiter: Waiter<S> = {
        resolve: (sandbox) => {
          cleanup();
          this.recordWait(started);
          resolve(sandbox);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.reject(
          new AppError(
            'unavailable',
            `no ${this.type} sandbox became free within ${this.options.acquire_timeout_ms} ms`,
            { retryAfter: 1 },
          ),
        );
      }, this.options.acquire_timeout_ms);
      const onAbort = () => waiter.reject(toAbortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.refill();
    });
  }

  /** Destroys the sandbox (in the background) and prepares its replacement. */
  release(sandbox: S): void {
    this.busy--;
    const done = this.backend
      .release(sandbox)
      .catch((err: Error) => this.log.error({ err, sandbox: sandbox.id }, 'destroying a sandbox failed'))
      .finally(() => {
        this.destroyed++;
        this.destroying.delete(done);
        this.refill();
      });
    this.destroying.add(done);
  }

  stats(): PoolStats {
    const sorted = [...this.waits].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
    return {
      type: this.type,
      ready: this.ready.length,
      busy: this.busy,
      preparing: this.preparing,
      waiting: this.waiters.length,
      created: this.created,
      destroyed: this.destroyed,
      failed: this.failed,
      acquire_wait_ms: { p50: pct(0.5), p99: pct(0.99) },
    };
  }

  /** Rejects waiters, destroys the ready sandboxes and waits for every destruction in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const waiter of [...this.waiters]) {
      waiter.reject(new AppError('unavailable', `the ${this.type} sandbox pool is shut down`));
    }
    const ready = this.ready.splice(0);
    // Shutting down: a sandbox that fails to release is gone with its process.
    await Promise.all(ready.map((s) => this.backend.release(s).catch(() => {})));
    this.destroyed += ready.length;
    while (this.destroying.size > 0 || this.preparing > 0) {
      await Promise.all([...this.destroying]);
      if (this.preparing > 0) await new Promise((r) => setTimeout(r, 10));
    }
  }

  private alive(): number {
    return this.ready.length + this.preparing + this.busy + this.destroying.size;
  }

  /** Prepares sandboxes until `size` are ready (or being prepared) plus one per waiter, within `max_total`. */
  private refill(): void {
    if (this.stopped || this.retryTimer) return;
    while (
      this.ready.length + this.preparing < this.options.size + this.waiters.length &&
      this.alive() < this.options.max_total
    ) {
      this.prepareOne();
    }
  }

  private prepareOne(): void {
    this.preparing++;
    this.backend.acquire().then(
      (sandbox) => {
        this.preparing--;
        this.created++;
        this.consecutiveFailures = 0;
        if (this.stopped) {
          const done = this.backend
            .release(sandbox)
            // Shutting down: a sandbox that fails to release is gone with its process.
            .catch(() => {})
            .finally(() => this.destroying.delete(done));
          this.destroying.add(done);
          return;
        }
        const waiter = this.waiters.shift();
        if (waiter) {
          this.busy++;
          waiter.resolve(sandbox);
        } else {
          this.ready.push(sandbox);
        }
        this.refill();
      },
      (err: Error) => {
        this.preparing--;
        this.failed++;
        this.consecutiveFailures++;
        this.log.error({ err, type: this.type }, 'preparing a sandbox failed');
        // Back off instead of spinning on a machine that cannot make sandboxes right now.
        const delay = Math.min(30_000, 100 * 2 ** Math.min(this.consecutiveFailures, 9));
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.refill();
        }, delay);
        this.retryTimer.unref();
      },
    );
  }

  private recordWait(started: number): void {
    if (this.waits.length >= WAIT_SAMPLES) this.waits.shift();
    this.waits.push(performance.now() - started);
  }
}

function toAbortError(signal?: AbortSignal): Error {
  const reason = signal?.reason;
  return reason instanceof Error ? reason : new Error('acquire was cancelled');
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
