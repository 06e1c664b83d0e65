import type { FastifyInstance } from 'fastify';
import { sendError } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The HTTP side of a graceful shutdown, decorated by buildHttp. */
    drain: HttpDrain;
  }
}

/** Seconds a client refused during a drain is told to wait: another process answers by then. */
const RETRY_AFTER_SECONDS = 1;

/**
 * The HTTP side of a graceful shutdown. While the process drains (its runs reach a step boundary
 * and are released), every new request is answered 503 with Retry-After and `Connection: close`,
 * so a keep-alive client goes to another process instead of holding a connection here; streams
 * still open when the runs are released are ended (their clients resume elsewhere with
 * Last-Event-ID); and idle connections are closed until the server has none, so closing it never
 * waits for a keep-alive timeout.
 */
export class HttpDrain {
  draining = false;
  private readonly streams = new Set<() => void>();

  constructor(private readonly app: FastifyInstance) {}

  /** Registers an open stream's close; the returned function unregisters it. */
  track(close: () => void): () => void {
    this.streams.add(close);
    return () => this.streams.delete(close);
  }

  /** From now on new requests are refused; connections that are idle now are closed. */
  start(): void {
    this.draining = true;
    this.app.server.closeIdleConnections();
  }

  /**
   * Ends every open stream, then closes the server: connections that become idle while it closes
   * (a response that ends after the server stopped listening) are closed as they do.
   */
  async close(): Promise<void> {
    this.start();
    for (const close of [...this.streams]) close();
    const sweep = setInterval(() => this.app.server.closeIdleConnections(), 100);
    try {
      await this.app.close();
    } finally {
      clearInterval(sweep);
    }
  }
}

/** Refuses requests during a drain, before authentication or any other work. */
export function registerDrain(app: FastifyInstance): void {
  const drain = new HttpDrain(app);
  app.decorate('drain', drain);
  app.addHook('onRequest', async (_request, reply) => {
    if (!drain.draining) return;
    reply.header('retry-after', String(RETRY_AFTER_SECONDS)).header('connection', 'close');
    return sendError(reply, 503, 'unavailable', 'the server is shutting down; retry on another process');
  });
  // A request in flight when the drain began is answered, on a connection that then closes.
  app.addHook('onSend', async (_request, reply) => {
    if (drain.draining) reply.header('connection', 'close');
  });
}
