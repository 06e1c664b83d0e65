import type { ServerResponse } from 'node:http';

/**
 * Resolves when a response whose `write()` returned false takes writes again, or is gone. Its
 * socket decides: on Node 24 a corked write that went past the response's high-water mark leaves
 * the response needing a drain after its socket took the bytes without needing one, and no 'drain'
 * ever comes. Every listener is removed when one fires: a stream that keeps falling behind would
 * otherwise pile up the others.
 */
export function drained(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (!res.writableNeedDrain || res.destroyed || (socket && !socket.writableNeedDrain))
    return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      socket?.off('drain', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    socket?.on('drain', done);
  });
}
