import type { CallerSignal } from './types.ts';

/**
 * An abort signal with an AbortSignal's shape (CallerSignal) and little of its cost: one object and
 * an array of listeners. A Node AbortSignal is an EventTarget with two Maps, and its creation was
 * 1.3% of the gateway's CPU in the bench's streaming row; every call in flight held two of them (the
 * client's and the attempt's), which each young-generation GC copies. APIs that need a real
 * AbortSignal (timers/promises, the Anthropic SDK) get one from `toAbortSignal`, made on first use.
 */
export class CallSignal implements CallerSignal {
  aborted = false;
  reason?: unknown;
  private listeners: Array<() => void> = [];
  private native?: AbortController;

  /** Listeners are called once, on the abort; one added after it is not called. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** Aborts once; later calls keep the first reason. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
    this.native?.abort(reason);
  }

  /** A real AbortSignal that aborts with this one. */
  toAbortSignal(): AbortSignal {
    if (!this.native) {
      this.native = new AbortController();
      if (this.aborted) this.native.abort(this.reason);
    }
    return this.native.signal;
  }
}

/** A real AbortSignal for any caller's signal: itself when it is one. */
export function abortSignalOf(signal: CallerSignal): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  if (signal instanceof CallSignal) return signal.toAbortSignal();
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}

/** Waits `ms`; rejects with the signal's reason as soon as the caller's signal aborts. */
export function pause(ms: number, signal: CallerSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
