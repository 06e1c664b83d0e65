import type { ServerResponse } from 'node:http';
import type { CallerSignal } from '../models/types.ts';

/**
 * Aborts when the client goes away before its response is complete: the signal a model call gets
 * from the chat completions route. It is an AbortSignal's shape without an EventTarget and its two
 * Maps (see CallerSignal): one object, one 'close' listener on the response, and the few listeners
 * the gateway adds (one per attempt).
 */
export class ClientGone implements CallerSignal {
  aborted = false;
  reason?: Error;
  private listeners: Array<() => void> = [];

  constructor(res: ServerResponse) {
    // 'close' comes once; `on` spares the wrapper `once` makes per request.
    res.on('close', () => {
      if (!res.writableFinished) this.abort(new Error('client disconnected'));
    });
  }

  /** Listeners are called once, on the abort; one added after it is not called. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  private abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }
}
