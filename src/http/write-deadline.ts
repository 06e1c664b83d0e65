import type { ServerResponse } from 'node:http';

/**
 * Cuts off a client that stops reading an answer the server has finished writing. Once `res` has
 * ended, its last bytes may still wait in the socket's buffer (a non-streamed answer whole, a
 * stream's last frames) for a client that takes none; nothing else would end that connection (Node
 * has no write timeout, and the stream writer's stall limit covers only frames it is still
 * sending), so the response would never close and what it holds (its bytes, an admission slot)
 * would stay held. A client that takes no byte for `stallMs` gets its socket destroyed, which frees
 * the buffers and closes the response; one that reads, however slowly, keeps its connection (each
 * period in which it took something restarts the clock).
 */
export function cutWhenUnread(res: ServerResponse, stallMs: number): void {
  // `on`, not `once` (here and below): each fires once a response, and `once` wraps the listener in
  // two more objects that a stream waiting on its model would hold all along.
  res.on('prefinish', () => watchDelivery(res, stallMs));
}

function watchDelivery(res: ServerResponse, stallMs: number): void {
  const socket = res.socket;
  if (!socket || res.writableFinished) return;
  let waiting = socket.writableLength;
  const timer = setInterval(() => {
    if (res.writableFinished || socket.destroyed) return clearInterval(timer);
    const now = socket.writableLength;
    if (now < waiting) {
      waiting = now;
      return;
    }
    clearInterval(timer);
    socket.destroy();
  }, stallMs);
  // A pending delivery is no reason to keep the process alive.
  timer.unref();
  res.on('close', () => clearInterval(timer));
}
