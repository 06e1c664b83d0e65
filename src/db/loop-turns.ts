import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Gives the event loop a turn between statements of the embedded store when they have held it too
 * long. PGlite runs each statement synchronously and answers in microtasks, so statements queued
 * behind one another run back to back without the loop turning: with thousands of runs ending in the
 * same second, that backlog held the loop for seconds, no socket read and no health check answered.
 *
 * Whether the loop has turned is known from an immediate set when a statement runs: while it has not
 * fired for `maxHoldMs`, the loop is held, and the next statement waits for a turn first. A lone
 * statement on an idle loop never waits.
 */
export class LoopTurns {
  private armedAt = 0;
  private armed = false;
  private readonly turned = () => {
    this.armed = false;
  };

  constructor(private readonly maxHoldMs = 20) {}

  /** Nothing when the loop turns freely; otherwise a turn of it to wait for. */
  due(): Promise<void> | undefined {
    if (!this.armed) {
      this.armed = true;
      this.armedAt = performance.now();
      setImmediate(this.turned);
      return undefined;
    }
    // The immediate set earlier fires first: after this wait the next statement arms a new one.
    return performance.now() - this.armedAt < this.maxHoldMs ? undefined : nextTurn();
  }
}
