import { toError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * A background round that reschedules itself: `round()` does the work and returns how long to
 * wait before the next one (the caller caps it with its poll interval). Rounds never overlap;
 * `wake()` runs one now, or — when one is in progress — right after it, so no wake-up is lost.
 */
export class PollLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<number>,
    /** Logs a failed round and says how long to wait before trying again. */
    private readonly onError: (err: unknown) => number,
  ) {}

  start(): void {
    this.schedule(0);
  }

  wake(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), ms);
    this.timer.unref();
  }

  private run(): void {
    if (this.running) return;
    this.running = (async () => {
      let waitMs: number;
      try {
        this.again = false;
        waitMs = await this.round();
      } catch (err) {
        waitMs = this.onError(err);
      }
      this.running = undefined;
      this.schedule(this.again ? 0 : waitMs);
    })();
  }
}

/**
 * A round's wait: until the next row falls due, `dueInMs` from now (plus a 5 ms margin, so it is due
 * when the round runs), but never longer than `pollMs`; `pollMs` when nothing is waiting (null).
 */
export function waitForDue(dueInMs: number | null | undefined, pollMs: number): number {
  return dueInMs === null || dueInMs === undefined ? pollMs : Math.min(pollMs, Math.max(0, dueInMs) + 5);
}

/**
 * A background service made of poll rounds (the scheduler, the callback sender): start, wake and
 * stop over one PollLoop; a failed round is logged with `failure` and tried again after the poll
 * interval. Subclasses write `round()`.
 */
export abstract class PolledService {
  private readonly loop: PollLoop;

  constructor(options: { log: Logger; pollSeconds: number }, failure: string) {
    this.loop = new PollLoop(
      () => this.round(),
      (err) => {
        options.log.warn({ err: toError(err) }, failure);
        return options.pollSeconds * 1000;
      },
    );
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One round's work; returns how long to wait before the next. */
  protected abstract round(): Promise<number>;
}
