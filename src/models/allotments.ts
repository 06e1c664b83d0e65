import type { CounterStore } from './counters.ts';

/** One limited quantity in one period: `tokens of tenant X today`, `requests of key K this minute`. */
export interface CounterSpec {
  key: string;
  limit: number;
  /** When the period ends (epoch ms): counters expire then, and Retry-After points there. */
  expiresAt: number;
}

interface Allotment {
  spec: CounterSpec;
  /** Taken from the shared store and not yet given back. */
  held: number;
  /** Reserved by calls in flight (their worst case). */
  inflight: number;
  /** Really used by settled calls since the last flush. */
  consumed: number;
  /** Reserved from since the last flush: a busy allotment keeps a slice of headroom across flushes. */
  active: boolean;
  /** A take from the store in flight: calls that need more wait for it instead of taking too. */
  taking?: Promise<boolean>;
}

/**
 * Budgets and rate limits without a store round trip per call, still exact across processes.
 *
 * Each process takes *allotments* from the shared counters (a slice of the limit, atomically, never past
 * it) and reserves calls out of what it holds locally. Every flush it gives back what it holds beyond
 * its calls in flight and charges any overage (a call that used more than its reservation), so the
 * shared counter always equals at least what all processes have used or reserved: no process can
 * reserve what another holds, hence no overspend. The cost of this: near a limit, slices held by
 * other processes look spent until their next flush (at most `flush_ms`), and a process that dies
 * loses its unused slice until the period ends — both err on the side of refusing, never of overspending.
 *
 * A periodic flush (`keepWarm`) lets an allotment that served calls since the last flush keep up to one
 * slice of headroom: giving it back only to take it again on the next call cost two statements per
 * counter per flush, and made the first call after each flush wait for a round trip per counter. An
 * idle allotment still gives everything back at its next flush; an explicit flush gives back all.
 */
export class AllottedCounters {
  private readonly allotments = new Map<string, Allotment>();

  constructor(
    private readonly store: CounterStore,
    /** Fraction of a limit taken per allotment when more than the call needs is left. */
    private readonly slice = 0.01,
  ) {}

  /** Reserves `amount` on every counter, or none: returns the first counter that refused. */
  async reserveAll(
    specs: readonly CounterSpec[],
    amounts: readonly number[],
  ): Promise<CounterSpec | undefined> {
    for (let i = 0; i < specs.length; i++) {
      let ok: boolean;
      try {
        ok = await this.reserve(specs[i]!, amounts[i]!);
      } catch (err) {
        for (let j = 0; j < i; j++) this.settle(specs[j]!, amounts[j]!, 0);
        throw err;
      }
      if (!ok) {
        for (let j = 0; j < i; j++) this.settle(specs[j]!, amounts[j]!, 0);
        return specs[i];
      }
    }
    return undefined;
  }

  /**
   * Reserves `amount` on every counter from what this process already holds, or reserves nothing and
   * answers false (the caller then goes through `reserveAll`, which takes allotments from the store).
   */
  reserveHeld(specs: readonly CounterSpec[], amounts: readonly number[]): boolean {
    for (let i = 0; i < specs.length; i++) {
      const allotment = this.allotments.get(specs[i]!.key);
      if (!allotment || allotment.held - allotment.inflight - allotment.consumed < amounts[i]!) return false;
    }
    for (let i = 0; i < specs.length; i++) {
      const allotment = this.allotments.get(specs[i]!.key)!;
      allotment.inflight += amounts[i]!;
      allotment.active = true;
    }
    return true;
  }

  async reserve(spec: CounterSpec, amount: number): Promise<boolean> {
    const allotment = this.allotmentFor(spec);
    if (amount > spec.limit) return false;
    allotment.active = true;
    for (;;) {
      const available = allotment.held - allotment.inflight - allotment.consumed;
      if (available >= amount) {
        allotment.inflight += amount;
        return true;
      }
      // One take per counter at a time: a burst of calls on an empty allotment (a process starting,
      // or busy again after an idle flush gave everything back) would otherwise each take a slice,
      // and a hundred slices of 1% hold a whole limit until the next flush.
      if (allotment.taking) {
        // Only waits for the take in flight; its failure reaches the call that started it.
        await allotment.taking.catch(() => {});
        continue; // re-checked: the slice taken may cover this call too
      }
      const need = amount - available;
      allotment.taking = this.take(allotment, spec, need);
      try {
        if (!(await allotment.taking)) return false;
      } finally {
        allotment.taking = undefined;
      }
    }
  }

  /**
   * Takes a slice (or, near the limit, just what is needed) from the store into the allotment, against
   * the limit of this call's spec: the tenant policy may have changed it since the allotment was made.
   */
  private async take(allotment: Allotment, spec: CounterSpec, need: number): Promise<boolean> {
    const chunk = Math.max(need, spec.limit * this.slice);
    if (await this.store.take(spec.key, chunk, spec.limit, spec.expiresAt)) {
      allotment.held += chunk;
      return true;
    }
    if (chunk > need && (await this.store.take(spec.key, need, spec.limit, spec.expiresAt))) {
      allotment.held += need;
      return true;
    }
    return false;
  }

  /** Ends a reservation of `reserved` that really used `used` (0 to cancel it). */
  settle(spec: CounterSpec, reserved: number, used: number): void {
    const allotment = this.allotmentFor(spec);
    allotment.inflight -= reserved;
    allotment.consumed += used;
  }

  /**
   * Gives back unused allotments and charges overage; forgets allotments of ended periods once idle. With
   * `keepWarm`, an allotment used since the last flush keeps up to one slice of its unused part.
   */
  async flush(now = Date.now(), { keepWarm = false }: { keepWarm?: boolean } = {}): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [key, allotment] of this.allotments) {
      const unused = allotment.held - allotment.inflight - allotment.consumed;
      const warm = keepWarm && allotment.active && allotment.spec.expiresAt > now;
      const kept = warm && unused > 0 ? Math.min(unused, allotment.spec.limit * this.slice) : 0;
      const surplus = unused - kept;
      const consumed = allotment.consumed;
      // After this, the store holds exactly our in-flight reservations, what we consumed and the
      // headroom we kept.
      allotment.held = allotment.inflight + kept;
      allotment.consumed = 0;
      allotment.active = false;
      if (surplus !== 0) {
        work.push(
          this.store.add(key, -surplus, allotment.spec.expiresAt).catch((err) => {
            // The store still counts what we held: keep it ours, and try again next flush.
            allotment.held += consumed + surplus;
            allotment.consumed += consumed;
            throw err;
          }),
        );
      }
      if (allotment.inflight === 0 && allotment.spec.expiresAt <= now) this.allotments.delete(key);
    }
    const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private allotmentFor(spec: CounterSpec): Allotment {
    let allotment = this.allotments.get(spec.key);
    if (!allotment) {
      allotment = { spec, held: 0, inflight: 0, consumed: 0, active: false };
      this.allotments.set(spec.key, allotment);
    }
    return allotment;
  }
}
