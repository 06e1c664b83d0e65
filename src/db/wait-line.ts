/**
 * The queries waiting for a pool connection, oldest first, with when each began to wait: how long
 * the head of the line has waited says whether the store keeps up, where the line's length does not
 * (200 queries that each wait 5 ms are a healthy burst; 20 that have waited 3 s are not). pg's pool
 * serves its waiters in order, so the first entry is the one that has waited longest.
 */
export class WaitLine {
  private next = 0;
  private readonly since = new Map<number, number>();

  /** A query starts waiting; pass the ticket to `leave` once it has its connection (or gave up). */
  enter(): number {
    const ticket = this.next++;
    this.since.set(ticket, performance.now());
    return ticket;
  }

  leave(ticket: number): void {
    this.since.delete(ticket);
  }

  /** How long the oldest waiting query has waited, in ms; 0 when none waits. */
  oldestMs(now = performance.now()): number {
    for (const began of this.since.values()) return now - began;
    return 0;
  }
}
