import type { ServerResponse } from 'node:http';

/**
 * Resolves when a response whose `write()` returned false takes writes again, or is gone. Both
 * listeners are removed when either fires: only one of them ever does, and a stream that keeps
 * falling behind would otherwise pile up the other.
 */
export function drained(res: ServerResponse): Promise<void> {
  if (!res.writableNeedDrain || res.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
