import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/*
 * uuid's v7 draws its 16 random bytes from the OS for every id: one native call each, a measurable
 * share of a queue worker's CPU (three ids per task attempt). One draw of 4 KB serves 256 ids; the
 * layout, and the monotonic order of ids made in the same millisecond, stay uuid's own (the state
 * update below is its `updateV7State`).
 */
const pool = new Uint8Array(4096);
let next = pool.length;
const state = { msecs: Number.NEGATIVE_INFINITY, seq: 0 };

/** Sortable UUIDv7 ids for every row. */
export const newId = (): string => {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const random = pool.subarray(next, next + 16);
  next += 16;
  const now = Date.now();
  if (now > state.msecs) {
    state.msecs = now;
    state.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return v7({ random, msecs: state.msecs, seq: state.seq });
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => uuidPattern.test(value);
