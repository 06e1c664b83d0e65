import { toError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * What a start has opened, newest last. Each builder registers a closer right after it opens
 * something (a pool, a Redis client, a timer, a server), so a graceful shutdown and a start that
 * fails halfway both close exactly what is open, in reverse order.
 */
export class Closers {
  private readonly stack: { name: string; close: () => Promise<void> | void }[] = [];
  private closing?: Promise<void>;

  constructor(private readonly log: Logger) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.stack.push({ name, close });
  }

  /**
   * Closes everything in reverse order of opening; one closer that fails is logged and the rest
   * still run (a Redis client must not stay open because a sandbox pool would not stop).
   * Idempotent: a second call returns the promise already in flight.
   */
  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      for (let entry = this.stack.pop(); entry; entry = this.stack.pop()) {
        try {
          await entry.close();
        } catch (err) {
          this.log.error({ err: toError(err) }, `closing ${entry.name} failed`);
        }
      }
    })();
    return this.closing;
  }
}
