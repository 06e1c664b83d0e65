/**
 * A worker's idle wait and what ends it: wake-ups (a NOTIFY, a local enqueue, a written completion,
 * a known future `run_at`), kicks (a freed slot), stop, or the fallback poll. Never spins.
 */
/** The longest delay a timer takes (a signed 32-bit count of ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Waker {
  /** Bumped by every wake-up, so the loop can tell one arrived while it was claiming. */
  wakes = 0;
  private sleeper?: (force?: boolean) => void;
  private wakeTimer?: { at: number; timer: NodeJS.Timeout };

  constructor(private readonly stopping: () => boolean) {}

  /** A wake-up for work runnable at `at` (epoch ms): now, or by timer when it lies ahead. */
  onWake(at: number): void {
    if (Number.isFinite(at) && at > Date.now() + 20) this.wakeAt(at);
    else this.wake();
  }

  wake(): void {
    this.wakes++;
    this.sleeper?.();
  }

  /** Ends the current sleep (a slot freed) without counting as a wake-up. */
  kick(): void {
    this.sleeper?.(true);
  }

  /**
   * Wakes the loop at a known future run_at (a retry this worker scheduled, a delayed enqueue). One
   * further off than a timer can wait (~24.8 days) gets none: Node would fire it at once, and the
   * fallback poll finds the task long before then anyway.
   */
  wakeAt(at: number): void {
    if (at - Date.now() > MAX_TIMER_MS) return;
    if (this.wakeTimer && this.wakeTimer.at <= at && this.wakeTimer.at > Date.now()) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    const timer = setTimeout(() => this.wake(), Math.max(0, at - Date.now()) + 5);
    timer.unref();
    this.wakeTimer = { at, timer };
  }

  /**
   * The idle wait: ends on a wake-up counted after `seen` (-1: only a new one), on stop, or after
   * `ms` (the fallback poll).
   */
  sleep(ms: number, seen: number): Promise<void> {
    if (this.stopping() || (seen >= 0 && this.wakes !== seen)) return Promise.resolve();
    const since = seen >= 0 ? seen : this.wakes;
    return new Promise((resolve) => {
      // The fallback poll counts as a wake-up: it claims even after an empty claim.
      const timer = setTimeout(() => {
        this.wakes++;
        done();
      }, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.sleeper = (force) => {
        if (force || this.wakes !== since || this.stopping()) done();
      };
    });
  }

  /** Drops the pending timed wake-up (at shutdown). */
  clear(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
  }
}

/** Runs `fn` every `ms`, skipping a tick while the previous run is still going; the timer is unref'd. */
export function every(ms: number, fn: () => Promise<void>, onError: (err: unknown) => void): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    fn()
      .catch(onError)
      .finally(() => {
        busy = false;
      });
  }, ms);
  timer.unref();
  return timer;
}
