/**
 * A signal that aborts `ms` after it is made, or with `parent`, whichever comes first.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: the composite holds its sources weakly,
 * and Node 20 keeps a timeout signal alive only while it has listeners of its own, so a garbage
 * collection before the deadline takes the timeout and the composite never aborts
 * (nodejs/node#57736; a blocking A2A send waited for its task to end instead of `send_wait_ms`).
 * Here the timer holds the controller until it fires or `clear()` is called. The timer is unref'd,
 * as AbortSignal.timeout's is: a deadline alone keeps no process alive.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number, parent?: AbortSignal | null) {
    const own = this.controller;
    this.timer = setTimeout(
      () => own.abort(new DOMException(`the deadline of ${ms} ms passed`, 'TimeoutError')),
      ms,
    ).unref();
    this.signal = parent ? AbortSignal.any([parent, own.signal]) : own.signal;
  }

  /** Whether the deadline itself has passed (the parent's abort is not this). */
  get passed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Stops the timer once the work it bounds is over. */
  clear(): void {
    clearTimeout(this.timer);
  }
}
