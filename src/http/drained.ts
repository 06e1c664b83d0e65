import type { ServerResponse } from 'node:http';

/**
 * Resolves when a response whose writes backed up takes writes again, or is gone. Its socket
 * decides, not the response's own flag: on Node 24 corked writes leave `res.writableNeedDrain` out
 * of step with the socket both ways (set while the socket took everything, so no 'drain' ever
 * comes; clear while the socket holds a megabyte). Every listener is removed when one fires: a
 * stream that keeps falling behind would otherwise pile up the others.
 */
export function drained(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  const backedUp = socket ? socket.writableNeedDrain : res.writableNeedDrain;
  if (!backedUp || res.destroyed) return Promise.resolve();
  const source = socket ?? res;
  return new Promise<void>((resolve) => {
    const done = () => {
      source.off('drain', done);
      res.off('close', done);
      resolve();
    };
    source.on('drain', done);
    res.on('close', done);
  });
}
